/** A real registry node (libp2p on 127.0.0.1, its own random cluster key, p2p port 0) with
 *  the app built over it, for app.inject() tests. */
import { randomBytes } from 'node:crypto';
import { createRegistryNode, type RegistryNode, type RegistryNodeInit } from '@roomring/node';
import type { FastifyInstance } from 'fastify';
import { buildApp, createLogger, type ServerConfig, serverConfig } from '../../src/index.js';
import { TEST_KEYS } from './tokens.js';

export interface TestServer {
  node: RegistryNode;
  app: FastifyInstance;
  config: ServerConfig;
  close(): Promise<void>;
}

export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  nodeOptions: Partial<RegistryNodeInit> = {},
  appOptions: { dashboardDir?: string; nowMs?: () => number } = {},
): Promise<TestServer> {
  const config = serverConfig({
    region: 'us-east',
    nodeId: 'test-1',
    keys: TEST_KEYS,
    webhookKey: 'testkey',
    clusterKey: randomBytes(32).toString('hex'),
    ...overrides,
  });
  const node = createRegistryNode({
    nodeId: config.nodeId,
    region: config.region,
    clusterKey: config.clusterKey,
    p2pHost: '127.0.0.1',
    p2pPort: 0,
    profile: 'test',
    minAcks: 0,
    ...nodeOptions,
  });
  await node.start();
  const app = buildApp({
    node,
    config,
    logger: createLogger('silent', config.nodeId, 'test'),
    ...appOptions,
  });
  await app.ready();
  return {
    node,
    app,
    config,
    async close() {
      await app.close();
      await node.stop();
    },
  };
}
