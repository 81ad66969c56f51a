/** What `roomring up` / `pnpm start` prints once the cluster runs. */
import { describe, expect, it } from 'vitest';
import { describeCluster, type LocalNode } from '../src/local-cluster.js';

const node = (nodeId: string, region: string, port: number): LocalNode =>
  ({
    nodeId,
    region,
    url: `http://127.0.0.1:${port}`,
    p2pPort: port + 20,
    pid: 1_000 + port,
    process: undefined as never,
  }) satisfies LocalNode;

describe('describeCluster', () => {
  it('prints every node, the development credentials and the dashboard address', () => {
    const text = describeCluster(
      [node('us-east-1', 'us-east', 7880), node('us-west-1', 'us-west', 7881)],
      'TOKEN-TEXT',
    );
    expect(text).toMatch(/^NODE\s+REGION\s+URL\s+PID\n/);
    expect(text).toContain('us-west-1  us-west  http://127.0.0.1:7881  8881');
    expect(text).toContain('API key: devkey   secret: secret');
    expect(text).toContain('Dashboard: http://127.0.0.1:7880/ui');
    expect(text).toContain('TOKEN=TOKEN-TEXT');
  });
});
