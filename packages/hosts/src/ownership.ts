/**
 * What the harness creates, and how it removes only that.
 *
 * Before it creates a namespace, link or directory, a cluster writes its name into a record
 * file, `/run/roomring-hosts/<prefix>.json`, with the id of the process that owns it; every
 * link it creates in the root namespace also carries the alias `roomring-hosts <prefix> <pid>`.
 * `sweepLeftovers()` removes what a record (or an alias) lists for an owner that is no longer
 * running, and nothing else: a crashed or killed run is cleaned up by the next one, and two
 * runs at once (two worktrees) never touch each other's objects. /run is a tmpfs, like
 * /run/netns: both are empty after a reboot.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export const RECORD_DIR = '/run/roomring-hosts';
export const ALIAS_PREFIX = 'roomring-hosts';
/** An `ip` command that takes longer is stuck (they take milliseconds). */
const IP_TIMEOUT_MS = 10_000;
const LOCK_DIR = join(RECORD_DIR, '.lock');
/** A lock held longer than this was left by a crashed process (claiming takes milliseconds). */
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 30_000;

export interface OwnershipRecord {
  prefix: string;
  pid: number;
  managementBlock: number;
  netns: string[];
  links: string[];
  dirs: string[];
}

/** Runs `ip args...`; rejects with its stderr. */
export function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: IP_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/** The same, synchronously: for exit and signal handlers, which cannot wait. */
export function ipSync(args: readonly string[]): string {
  return execFileSync('ip', args, {
    timeout: IP_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
}

/** Why a cluster of hosts cannot be made here, or undefined when it can. */
export function hostsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux')
    return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) {
    return 'network namespaces, veth pairs and bridges need root (run the tests as root, as CI does)';
  }
  try {
    ipSync(['netns', 'list']);
  } catch (error) {
    return `the ip command (Debian package iproute2) does not work: ${(error as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/** Whether the process that wrote a record still runs: it exists and is a Node.js process
 *  (a reused pid of something else does not keep leftovers alive). */
export function ownerRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return /node/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

/** Runs `fn` holding the record directory's lock (mkdir is atomic), so two processes that
 *  create clusters at once pick different management blocks. */
function withLock<T>(fn: () => T): T {
  mkdirSync(RECORD_DIR, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + LOCK_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      try {
        if (Date.now() - statSync(LOCK_DIR).mtimeMs > LOCK_STALE_MS) rmdirSync(LOCK_DIR);
      } catch {
        // removed meanwhile by its owner
      }
      if (Date.now() > deadline) throw new Error(`${LOCK_DIR} held for ${LOCK_WAIT_MS} ms`);
      Atomics.wait(pause, 0, 0, 10); // a synchronous 10 ms pause
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(LOCK_DIR);
  }
}

/** Third octets of 198.19.x.0/24 blocks with an address in the root namespace. */
function managementBlocksOnLinks(): Set<number> {
  const blocks = new Set<number>();
  try {
    const links = JSON.parse(ipSync(['-j', '-4', 'addr', 'show'])) as {
      addr_info?: { local?: string }[];
    }[];
    for (const link of links) {
      for (const info of link.addr_info ?? []) {
        const match = /^198\.19\.(\d+)\./.exec(info.local ?? '');
        if (match) blocks.add(Number(match[1]));
      }
    }
  } catch {
    // no addresses readable: records alone decide
  }
  return blocks;
}

/** The record of one cluster, written through on every change. */
export class Ownership {
  private readonly record: OwnershipRecord;
  private readonly path: string;

  /** Claims a management block no record and no root-namespace address uses, and writes
   *  the record that holds it. */
  static claim(prefix: string): Ownership {
    return withLock(() => {
      const used = new Set([...managementBlocksInUse(), ...managementBlocksOnLinks()]);
      for (let block = 1; block <= 254; block++) {
        if (!used.has(block)) return new Ownership(prefix, block);
      }
      throw new Error('every 198.19.x.0/24 management block is in use');
    });
  }

  private constructor(prefix: string, managementBlock: number) {
    this.record = { prefix, pid: process.pid, managementBlock, netns: [], links: [], dirs: [] };
    this.path = join(RECORD_DIR, `${prefix}.json`);
    if (existsSync(this.path)) throw new Error(`${this.path} exists: prefix ${prefix} is in use`);
    this.write();
  }

  get managementBlock(): number {
    return this.record.managementBlock;
  }

  get alias(): string {
    return `${ALIAS_PREFIX} ${this.record.prefix} ${this.record.pid}`;
  }

  /** Records `name` before it is created, so a crash in between still leaves its name. */
  add(kind: 'netns' | 'links' | 'dirs', name: string): void {
    this.record[kind].push(name);
    this.write();
  }

  private write(): void {
    writeFileSync(this.path, `${JSON.stringify(this.record)}\n`, { mode: 0o600 });
  }

  /** Removes everything recorded, then the record (synchronous: safe in exit handlers). */
  removeAllSync(): string[] {
    const removed = removeRecorded(this.record);
    rmSync(this.path, { force: true });
    return removed;
  }
}

function tryIp(args: readonly string[]): boolean {
  try {
    ipSync(args);
    return true;
  } catch {
    return false;
  }
}

/** Kills what runs in the record's namespaces, deletes its links, namespaces and dirs.
 *  Missing objects are fine (already gone). Returns what was removed. */
function removeRecorded(record: OwnershipRecord): string[] {
  const removed: string[] = [];
  const existing = new Set(listNetns());
  for (const netns of record.netns) {
    if (!existing.has(netns)) continue;
    // Only our servers run in our namespaces: kill them, or the namespace outlives its name.
    for (const pid of netnsPids(netns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  // Root-side ends first: deleting one end of a veth pair deletes both, at once (deleting
  // the namespace would free its ends only later, asynchronously).
  for (const link of [...record.links].reverse()) {
    if (tryIp(['link', 'del', link])) removed.push(link);
  }
  for (const netns of record.netns) {
    if (existing.has(netns) && tryIp(['netns', 'del', netns])) removed.push(netns);
  }
  for (const dir of record.dirs) {
    if (existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
  }
  return removed;
}

function listNetns(): string[] {
  try {
    return ipSync(['netns', 'list'])
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '')
      .filter((name) => name.length > 0);
  } catch {
    return [];
  }
}

function netnsPids(netns: string): number[] {
  try {
    return ipSync(['netns', 'pids', netns])
      .split('\n')
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

function readRecord(path: string): OwnershipRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as OwnershipRecord;
    const lists = [record.netns, record.links, record.dirs];
    if (typeof record.pid !== 'number' || !lists.every((l) => Array.isArray(l))) return undefined;
    return record;
  } catch {
    return undefined;
  }
}

/** Management blocks held by running owners (their records), so a new cluster picks another:
 *  two clusters at once must not put the same address on two root-namespace links. */
export function managementBlocksInUse(): Set<number> {
  const blocks = new Set<number>();
  if (!existsSync(RECORD_DIR)) return blocks;
  for (const file of readdirSync(RECORD_DIR)) {
    if (!file.endsWith('.json')) continue;
    const record = readRecord(join(RECORD_DIR, file));
    if (record !== undefined) blocks.add(record.managementBlock);
  }
  return blocks;
}

/**
 * Removes the leftovers of clusters whose process is gone (a crash, a SIGKILL, a run
 * interrupted before its clean-up): what their records list, and root-namespace links with
 * our alias naming a gone owner. Never touches anything else. Returns the removed names.
 */
export function sweepLeftovers(): string[] {
  const removed: string[] = [];
  if (existsSync(RECORD_DIR)) {
    for (const file of readdirSync(RECORD_DIR)) {
      if (!file.endsWith('.json')) continue;
      const path = join(RECORD_DIR, file);
      const record = readRecord(path);
      if (record !== undefined && ownerRunning(record.pid)) continue;
      if (record !== undefined) removed.push(...removeRecorded(record));
      unlinkSync(path);
    }
  }
  // Links whose record was lost: our alias names the owner.
  let links: { ifname: string; ifalias?: string }[] = [];
  try {
    links = JSON.parse(ipSync(['-j', 'link', 'show'])) as typeof links;
  } catch {
    links = [];
  }
  for (const link of links) {
    const match = new RegExp(`^${ALIAS_PREFIX} (\\S+) (\\d+)$`).exec(link.ifalias ?? '');
    if (match && !ownerRunning(Number(match[2])) && tryIp(['link', 'del', link.ifname])) {
      removed.push(link.ifname);
    }
  }
  return removed;
}
