/**
 * @roomring/whatif: what a membership change would move, planned with the ring package the
 * nodes run. Shared by `roomring whatif` (apps/cli) and the server's `/v1/whatif` (the
 * dashboard), so both answer with the same numbers. Pure: no I/O, no clock, no randomness.
 */
export {
  ADD_WEIGHT_DEFAULT,
  type MembershipChange,
  parseAddSpec,
  planWhatIf,
  type ViewRoom,
  WhatIfError,
  type WhatIfPlan,
} from './plan.js';
export { isRingState, ringMembersOf, type ViewMember } from './ring-members.js';
