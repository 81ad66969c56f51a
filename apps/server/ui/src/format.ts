/** Numbers and times as the dashboard prints them. */

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 0.1234 -> "12.3%". */
export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** A duration for people: "850 ms", "4.2 s", "3 min 5 s", "2 h 10 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const abs = Math.max(0, ms);
  if (abs < 1_000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${(abs / 1_000).toFixed(1)} s`;
  const s = Math.floor(abs / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ${Math.floor((s % 3_600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3_600)} h`;
}

/** "3.2 s ago"; "-" for 0 (never). */
export function formatAgo(atMs: number, nowMs: number): string {
  if (atMs <= 0) return '-';
  return `${formatDuration(nowMs - atMs)} ago`;
}

/** A latency: "0.42 ms", "12.5 ms", "1,234 ms"; "-" for null. */
export function formatMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${formatCount(ms)} ms`;
}

/** hh:mm:ss of a unix ms time, in the browser's time zone. */
export function formatClock(atMs: number): string {
  const d = new Date(atMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
