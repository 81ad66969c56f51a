export {
  createSimCluster,
  type SimCluster,
  type SimClusterInit,
  type SimNodeSpec,
  simSeed,
} from './cluster.js';
export {
  createMemoryNetwork,
  MemoryDialTimeoutError,
  type MemoryNetwork,
  type MemoryNetworkInit,
  MemoryTransportError,
} from './memory-network.js';
export { createSeededRandom, type SeededRandom } from './random.js';
export type { ScaleRow, SwarmSummary } from './reports.js';
export { type CancelTimer, createVirtualTime, type VirtualTime } from './virtual-time.js';
