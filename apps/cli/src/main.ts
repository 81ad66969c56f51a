#!/usr/bin/env node
/**
 * `roomring`: the cluster CLI. Today: `up` (the local multi-region cluster that `pnpm start`
 * runs) and `keygen`.
 */
import { randomBytes } from 'node:crypto';
import { mintAccessToken } from '@roomring/client';
import { Command, InvalidArgumentError } from 'commander';
import {
  DEV_API_KEY,
  DEV_API_SECRET,
  describeCluster,
  startLocalCluster,
  stopLocalCluster,
} from './local-cluster.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function port(value: string): number {
  const n = positiveInt(value);
  if (n > 65_535) throw new InvalidArgumentError('must be a port number');
  return n;
}

const program = new Command('roomring')
  .description('roomring: a database-free, multi-region room registry')
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program
  .command('up')
  .description('start a local multi-region cluster, one process per node (Ctrl-C stops it)')
  .option('--regions <list>', 'comma-separated regions', 'us-east,us-west,eu-central')
  .option('--nodes-per-region <n>', 'nodes in each region', positiveInt, 1)
  .option('--base-port <port>', 'HTTP port of the first node; the others follow', port, 7880)
  .option('--p2p-base-port <port>', 'cluster port of the first node; the others follow', port, 7900)
  .option('--from-source', 'run the server from its TypeScript sources instead of its build')
  .action(
    async (options: {
      regions: string;
      nodesPerRegion: number;
      basePort: number;
      p2pBasePort: number;
      fromSource?: boolean;
    }) => {
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
        24 * 3600,
      );
      console.log(`\n${describeCluster(nodes, token)}`);
    },
  );

program
  .command('keygen')
  .description('print a new cluster key and an API key/secret pair for a deployment')
  .option('--json', 'machine-readable output')
  .action((options: { json?: boolean }) => {
    const keys = {
      clusterKey: randomBytes(32).toString('hex'),
      apiKey: `API${randomBytes(6).toString('base64url')}`,
      apiSecret: randomBytes(32).toString('base64url'),
    };
    if (options.json) {
      console.log(JSON.stringify(keys));
      return;
    }
    console.log(`cluster key (--cluster-key, every node): ${keys.clusterKey}`);
    console.log(`API key pair (--keys):                  ${keys.apiKey}:${keys.apiSecret}`);
  });

await program.parseAsync(process.argv);
