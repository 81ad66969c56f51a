export {
  type ClientRetry,
  clientRetryOf,
  ERROR_TABLE,
  type ErrorMetaKey,
  type ErrorTableRow,
  errorRowOf,
  type NodeErrorClass,
  type RegistryErrorCode,
  type RegistryErrorFacts,
  type TwirpAnswer,
  twirpAnswerOf,
} from './error-table.js';
export { isTwirpCode, TWIRP_HTTP_STATUS, type TwirpCode } from './twirp-codes.js';
