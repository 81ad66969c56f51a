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

/** Fields of /proc/<pid>/stat after the command (`comm` may hold spaces and parentheses). */
function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // state(0) ppid(1) ... utime(11) stime(12)
  return { pid, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
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
