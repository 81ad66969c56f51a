export {
  DEV_API_KEY,
  DEV_API_SECRET,
  describeCluster,
  type LocalClusterOptions,
  type LocalNode,
  startLocalCluster,
  stopLocalCluster,
} from './local-cluster.js';
