/**
 * CPU time of processes, from /proc (Linux): what a server spends per request, steadier on a
 * shared machine than requests per second (another process's load slows a server's answers,
 * but takes nothing from the CPU time each answer costs it).
 */

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (`getconf CLK_TCK`, 100 on Linux). */
let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

/** Fields of a /proc stat file after the command (`comm` may hold spaces and parentheses):
 *  state(0) ppid(1) ... utime(11) stime(12); undefined when the process or thread exited. */
function statFields(path: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // exited
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

function ticksOf(fields: readonly string[]): number {
  return Number(fields[11]) + Number(fields[12]);
}

function readStat(pid: number): Stat | undefined {
  const fields = statFields(`/proc/${pid}/stat`);
  return fields && { pid, ppid: Number(fields[1]), ticks: ticksOf(fields) };
}

/** Every process now running: pid and parent. */
function allProcesses(): Stat[] {
  const stats: Stat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat) stats.push(stat);
  }
  return stats;
}

/**
 * CPU ms used so far by the given processes and, with `withDescendants`, every process below
 * them (PostgreSQL's backends are children of its postmaster). Children that already exited
 * are not counted: take readings around a run whose processes live through it.
 */
export function processCpuMs(pids: readonly number[], withDescendants = false): number {
  const wanted = new Set(pids.filter((pid) => pid > 0));
  let stats: Stat[];
  if (withDescendants) {
    stats = allProcesses();
    let grew = true;
    while (grew) {
      grew = false;
      for (const s of stats) {
        if (!wanted.has(s.pid) && wanted.has(s.ppid)) {
          wanted.add(s.pid);
          grew = true;
        }
      }
    }
    stats = stats.filter((s) => wanted.has(s.pid));
  } else {
    stats = [...wanted].flatMap((pid) => readStat(pid) ?? []);
  }
  const ticks = stats.reduce((sum, s) => sum + s.ticks, 0);
  return (ticks * 1_000) / clockTicks();
}

/**
 * CPU ms used so far by the given processes, split into their main threads (the thread whose
 * id is the pid: the event loop, and what V8 does on it) and all their other threads (V8's
 * helpers: concurrent and parallel GC, background compilation; libuv's pool). Threads that
 * already exited are not counted.
 */
export function threadCpuMs(pids: readonly number[]): { main: number; helpers: number } {
  let main = 0;
  let helpers = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = pid > 0 ? readdirSync(`/proc/${pid}/task`) : [];
    } catch {
      continue; // exited
    }
    for (const tid of tids) {
      const fields = statFields(`/proc/${pid}/task/${tid}/stat`);
      if (fields === undefined) continue;
      if (Number(tid) === pid) main += ticksOf(fields);
      else helpers += ticksOf(fields);
    }
  }
  const msPerTick = 1_000 / clockTicks();
  return { main: main * msPerTick, helpers: helpers * msPerTick };
}
