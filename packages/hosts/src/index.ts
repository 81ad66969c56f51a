export type { MemberEntry, NodeStatus } from './admin.js';
export { adminToken } from './admin.js';
export { buildServer } from './build.js';
export {
  createHostCluster,
  type Host,
  HostCluster,
  type HostClusterOptions,
  HTTP_PORT,
  type MeshState,
  P2P_PORT,
} from './cluster.js';
export { hostsUnavailableReason, sweepLeftovers } from './ownership.js';
export { waitFor } from './poll.js';
export { SERVER_MAIN, ServerProcess } from './server.js';
export { HOSTS_MAX, type HostSpec, planTopology } from './topology.js';
