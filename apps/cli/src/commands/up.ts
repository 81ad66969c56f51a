/**
 * `roomring up`: a local multi-region cluster, one server process per node (local-cluster.ts);
 * `pnpm start` runs it from the build. Ctrl-C or SIGTERM stops every node.
 */
import { mintAccessToken } from '@roomring/client';
import type { Command } from 'commander';
import { port, positiveInt } from '../args.js';
import {
  DEV_API_KEY,
  DEV_API_SECRET,
  describeCluster,
  startLocalCluster,
  stopLocalCluster,
} from '../local-cluster.js';

/** Lifetime of the token printed for curl: a working day of local experiments. */
const PRINTED_TOKEN_TTL_S = 24 * 3600;

interface UpOptions {
  regions: string;
  nodesPerRegion: number;
  basePort: number;
  p2pBasePort: number;
  fromSource?: boolean;
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start a local multi-region cluster, one process per node (Ctrl-C stops it)')
    .option('--regions <list>', 'comma-separated regions', 'us-east,us-west,eu-central')
    .option('--nodes-per-region <n>', 'nodes in each region', positiveInt, 1)
    .option('--base-port <port>', 'HTTP port of the first node; the others follow', port, 7880)
    .option(
      '--p2p-base-port <port>',
      'cluster port of the first node; the others follow',
      port,
      7900,
    )
    .option('--from-source', 'run the server from its TypeScript sources instead of its build')
    .action(async (options: UpOptions) => {
      const regions = options.regions
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      if (regions.length === 0) {
        console.error('--regions: give at least one region');
        process.exit(2);
      }
      const total = regions.length * options.nodesPerRegion;
      console.log(`starting ${total} nodes in ${regions.length} regions...`);
      let nodes: Awaited<ReturnType<typeof startLocalCluster>> = [];
      let stopping = false;
      const stop = async (signal: string): Promise<void> => {
        if (stopping) return;
        stopping = true;
        console.log(`\n${signal}: stopping ${nodes.length} nodes...`);
        await stopLocalCluster(nodes);
        console.log('all nodes stopped');
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
      try {
        nodes = await startLocalCluster({
          regions,
          nodesPerRegion: options.nodesPerRegion,
          basePort: options.basePort,
          p2pBasePort: options.p2pBasePort,
          fromSource: options.fromSource ?? false,
          log: (line) => console.error(line),
          // A node that dies on its own ends the cluster with exit 1 (its lines are logged).
          onNodeExit: (node) => {
            if (stopping) return;
            stopping = true;
            console.error(`${node.nodeId} stopped: stopping the other nodes`);
            void stopLocalCluster(nodes).then(() => process.exit(1));
          },
        });
      } catch (error) {
        console.error(`could not start the cluster: ${(error as Error).message}`);
        process.exit(1);
      }
      const token = mintAccessToken(
        DEV_API_KEY,
        DEV_API_SECRET,
        { roomCreate: true, roomList: true, roomAdmin: true },
        Date.now(),
        PRINTED_TOKEN_TTL_S,
      );
      console.log(`\n${describeCluster(nodes, token)}`);
    });
}
