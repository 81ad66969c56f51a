export { AdmissionController, type AdmissionInit, type ShedReason } from './admission.js';
export { type BuildAppInit, buildApp } from './app.js';
export {
  AuthenticationError,
  TokenVerifier,
  VERIFIED_TOKENS_MAX,
  type VideoGrants,
} from './auth.js';
export {
  envName,
  FLAG_NAMES,
  HelpRequested,
  helpText,
  type LogLevel,
  parseServerConfig,
  type ServerConfig,
  ServerConfigError,
  serverConfig,
} from './config.js';
export {
  type ErrorMapping,
  NODE_ERROR_MAPPING,
  TWIRP_HTTP_STATUS,
  type TwirpCode,
  TwirpError,
  toTwirpError,
} from './errors.js';
export { CLOCK_LEEWAY_S, JwtError, signJwt, verifyJwt } from './jwt.js';
export { createLogger } from './logger.js';
export { loadOrCreatePeerKey, PEER_KEY_FILE } from './peer-key.js';
export { ROOM_SERVICE, UNIMPLEMENTED_METHODS } from './twirp.js';
