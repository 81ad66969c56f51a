/**
 * The harness itself: the names and addresses it plans, that it removes everything it made
 * (also after its process was killed or interrupted), and that it removes nothing else.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planTopology } from '../src/index.js';
import { ALIAS_PREFIX, RECORD_DIR, sweepLeftovers } from '../src/ownership.js';
import { clusterPrefix, HOSTS_MAX } from '../src/topology.js';
import { describeHosts } from './helpers.js';

describe('planTopology', () => {
  const plan = planTopology('rr1a2b30', 7, [
    { nodeId: 'a', region: 'us-east' },
    { nodeId: 'b', region: 'us-west' },
    { nodeId: 'c', region: 'us-east' },
  ]);

  it('gives each host a cluster address in 198.18.0.0/16 and a /30 management link in 198.19.<block>.0/24', () => {
    expect(
      plan.hosts.map((h) => [h.nodeId, h.clusterIp, h.managementIp, h.managementPeerIp]),
    ).toEqual([
      ['a', '198.18.0.10', '198.19.7.2', '198.19.7.1'],
      ['b', '198.18.0.11', '198.19.7.6', '198.19.7.5'],
      ['c', '198.18.0.12', '198.19.7.10', '198.19.7.9'],
    ]);
  });

  it('names every object after the prefix, within 15 bytes, one bridge and trunk per region', () => {
    expect(plan.coreBridge).toBe('rr1a2b30c');
    expect(plan.regions).toEqual([
      {
        name: 'us-east',
        bridge: 'rr1a2b30r0',
        trunkRegionEnd: 'rr1a2b30t0a',
        trunkCoreEnd: 'rr1a2b30t0b',
      },
      {
        name: 'us-west',
        bridge: 'rr1a2b30r1',
        trunkRegionEnd: 'rr1a2b30t1a',
        trunkCoreEnd: 'rr1a2b30t1b',
      },
    ]);
    expect(plan.hosts.map((h) => [h.netns, h.clusterLink, h.managementLink])).toEqual([
      ['rr1a2b30-h0', 'rr1a2b30h0', 'rr1a2b30m0'],
      ['rr1a2b30-h1', 'rr1a2b30h1', 'rr1a2b30m1'],
      ['rr1a2b30-h2', 'rr1a2b30h2', 'rr1a2b30m2'],
    ]);
  });

  it('fits the largest pid and cluster into interface names', () => {
    const prefix = clusterPrefix(2 ** 22, 35);
    expect(prefix).toBe('rr2hwcgz');
    const big = planTopology(
      prefix,
      254,
      Array.from({ length: HOSTS_MAX }, (_, i) => ({ nodeId: `n${i}`, region: `r${i % 36}` })),
    );
    expect(big.hosts.at(-1)!.managementIp).toBe('198.19.254.246');
    for (const name of [
      big.coreBridge,
      ...big.regions.flatMap((r) => [r.bridge, r.trunkRegionEnd]),
    ]) {
      expect(name.length).toBeLessThanOrEqual(15);
    }
  });

  it('refuses what it cannot name or address', () => {
    const one = [{ nodeId: 'a', region: 'r' }];
    expect(() => planTopology('rr1', 0, one)).toThrow(/managementBlock/);
    expect(() => planTopology('RR-1', 1, one)).toThrow(/prefix/);
    expect(() => planTopology('rr1', 1, [])).toThrow(/1\.\.62 hosts/);
    expect(() => planTopology('rr1', 1, [...one, ...one])).toThrow(/unique/);
  });
});

/** Names in the root namespace and the namespace list that start with `prefix`. */
function leftoversOf(prefix: string): string[] {
  const links = (
    JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as {
      ifname: string;
    }[]
  ).map((l) => l.ifname);
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!);
  return [...links, ...netns].filter((name) => name.startsWith(prefix));
}

/** Whether `pid` runs (a zombie, killed but not reaped yet, does not). */
function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** A pid no process has now: a child that already exited. */
function deadPid(): number {
  const child = execFileSync(
    process.execPath,
    ['-e', 'process.stdout.write(String(process.pid))'],
    {
      encoding: 'utf8',
    },
  );
  return Number(child);
}

const FIXTURE = join(import.meta.dirname, 'fixtures', 'hold-cluster.ts');

/** Starts the fixture; resolves with its cluster's prefix and server pid once it is ready. */
function holdCluster(): Promise<{ child: ChildProcess; prefix: string; serverPid: number }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@roomring/source', '--import', 'tsx', FIXTURE],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /ready (\S+) (\d+)/.exec(output);
      if (match) resolve({ child, prefix: match[1]!, serverPid: Number(match[2]) });
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`fixture exited (${signal ?? code}):\n${output}`)),
    );
  });
}

function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve(child.signalCode ?? child.exitCode);
    else child.once('exit', (code, signal) => resolve(signal ?? code));
  });
}

describeHosts('clean-up', { timeout: 120_000 }, () => {
  const foreign: string[] = [];
  afterAll(() => {
    for (const link of foreign) {
      try {
        execFileSync('ip', ['link', 'del', link], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });

  it('an interrupted run (SIGTERM) removes its namespaces, links and server before it dies', async () => {
    const { child, prefix, serverPid } = await holdCluster();
    expect(leftoversOf(prefix).length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe('SIGTERM');
    expect(leftoversOf(prefix)).toEqual([]);
    await expect.poll(() => processRunning(serverPid), { timeout: 5_000 }).toBe(false);
    expect(existsSync(join(RECORD_DIR, `${prefix}.json`))).toBe(false);
  });

  it('a killed run (SIGKILL) leaves them; the next sweep removes them, its orphaned server too', async () => {
    const { child, prefix, serverPid } = await holdCluster();
    child.kill('SIGKILL');
    await exited(child);
    expect(leftoversOf(prefix).length).toBeGreaterThan(0);
    expect(processRunning(serverPid)).toBe(true);
    const removed = sweepLeftovers();
    expect(removed).toEqual(expect.arrayContaining([`${prefix}c`, `${prefix}-h0`]));
    expect(leftoversOf(prefix)).toEqual([]);
    await expect.poll(() => processRunning(serverPid), { timeout: 5_000 }).toBe(false);
  });

  it('the sweep leaves alone what it did not create and what a running owner holds', () => {
    const dead = deadPid();
    // Named like ours, but without our alias or a record: not ours.
    const lookalike = `${clusterPrefix(dead, 0)}c`;
    // Our alias, naming a running owner (this process): held, not a leftover.
    const held = `${clusterPrefix(process.pid, 35)}c`;
    // Our alias, naming a gone owner, without a record: a leftover whose record was lost.
    const orphan = `${clusterPrefix(dead, 1)}c`;
    // A record of a running owner listing a link: held too.
    const recorded = `${clusterPrefix(process.pid, 34)}c`;
    for (const name of [lookalike, held, orphan, recorded]) {
      foreign.push(name);
      execFileSync('ip', ['link', 'add', name, 'type', 'bridge']);
    }
    execFileSync('ip', [
      'link',
      'set',
      held,
      'alias',
      `${ALIAS_PREFIX} ${clusterPrefix(process.pid, 35)} ${process.pid}`,
    ]);
    execFileSync('ip', [
      'link',
      'set',
      orphan,
      'alias',
      `${ALIAS_PREFIX} ${clusterPrefix(dead, 1)} ${dead}`,
    ]);
    mkdirSync(RECORD_DIR, { recursive: true });
    const record = join(RECORD_DIR, `${clusterPrefix(process.pid, 34)}.json`);
    writeFileSync(
      record,
      JSON.stringify({
        prefix: clusterPrefix(process.pid, 34),
        pid: process.pid,
        managementBlock: 250,
        netns: [],
        links: [recorded],
        dirs: [],
      }),
    );
    try {
      const removed = sweepLeftovers();
      expect(removed).toContain(orphan);
      expect(removed).not.toContain(lookalike);
      expect(removed).not.toContain(held);
      expect(removed).not.toContain(recorded);
      expect(leftoversOf(lookalike)).toEqual([lookalike]);
      expect(leftoversOf(held)).toEqual([held]);
      expect(leftoversOf(recorded)).toEqual([recorded]);
      expect(existsSync(record)).toBe(true);
    } finally {
      execFileSync('rm', ['-f', record]);
    }
  });
});
