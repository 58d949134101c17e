// A process's own accounting, read from /proc (Linux): CPU time of all its
// threads (utime + stime) and its resident set (now and peak).
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerS = 100;
try {
  ticksPerS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch { /* 100 is the Linux default */ }

/** CPU time (user + system, every thread) of `pid`, in microseconds. Resolution: one clock tick (10 ms). */
export function cpuUs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / ticksPerS;
}

/** Resident set of `pid` now and at its peak (VmHWM), in bytes. */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `pid` uses at most one clock tick per `quietMs`, for at most
 * `maxMs`: the server has finished what the previous step gave it.
 */
export async function waitQuiet(pid, { quietMs = 500, maxMs = 15_000 } = {}) {
  const deadline = Date.now() + maxMs;
  let last = cpuUs(pid);
  for (;;) {
    await sleep(quietMs);
    const now = cpuUs(pid);
    if (now - last <= 1e6 / ticksPerS || Date.now() > deadline) return;
    last = now;
  }
}
