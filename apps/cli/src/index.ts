/**
 * @roomring/cli as a library: the local-cluster launcher (`roomring up`) and the pure pieces
 * behind `whatif`, `ring --draw` and the tables, for scripts and benchmarks. The commands
 * themselves are reached through the `roomring` bin (src/main.ts).
 */

export {
  ADD_WEIGHT_DEFAULT,
  type MembershipChange,
  parseAddSpec,
  planWhatIf,
  WhatIfError,
  type WhatIfPlan,
} from '@roomring/whatif';
export {
  DEV_API_KEY,
  DEV_API_SECRET,
  describeCluster,
  LOCAL_NODE_RUNTIME_ARGS,
  type LocalClusterOptions,
  type LocalNode,
  startLocalCluster,
  stopLocalCluster,
} from './local-cluster.js';
export {
  DRAW_CELL_COUNT_DEFAULT,
  DRAW_CELL_COUNT_MAX,
  DRAW_CELL_COUNT_MIN,
  DRAW_SAMPLES_PER_CELL_DEFAULT,
  DRAW_SAMPLES_PER_CELL_MAX,
  type DrawnNode,
  drawRegion,
  type RegionDrawing,
  type RingDrawInit,
  renderRegionDrawing,
} from './render/ring-draw.js';
export { type Cell, type Column, renderTable } from './render/table.js';
export { printable } from './render/text.js';
