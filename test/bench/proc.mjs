// A process's own accounting, read from /proc (Linux): CPU time of all its
// threads (utime + stime) and its resident set (now and peak).
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticksPerS = 100;
try {
  ticksPerS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch { /* 100 is the Linux default */ }

/** CPU time of `pid` (every thread), user and system, in microseconds. Resolution: one clock tick (10 ms). */
export function cpuSplitUs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1e6) / ticksPerS, system: (Number(fields[12]) * 1e6) / ticksPerS };
}

/** CPU time (user + system, every thread) of `pid`, in microseconds. */
export function cpuUs(pid) {
  const { user, system } = cpuSplitUs(pid);
  return user + system;
}

/** Resident set of `pid` now and at its peak (VmHWM), in bytes. */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Busy CPU time of the whole machine (every core, every process, the kernel), in µs. */
export function machineBusyUs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait.
  return ((f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 1e6) / ticksPerS;
}

/** Steal time of the whole machine (every core), in µs: time the hypervisor gave our virtual cores' physical ones to someone else. */
export function machineStealUs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return ((f[7] ?? 0) * 1e6) / ticksPerS;
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

/** pid → [parent pid, CPU µs] for every process now running. */
function processTable() {
  const out = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Kernel threads (children of kthreadd, pid 2) are left out: under load they work for us.
      if (name !== '2' && f[1] !== '2') out.set(Number(name), [Number(f[1]), ((Number(f[11]) + Number(f[12])) * 1e6) / ticksPerS]);
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/**
 * Samples, every second, the CPU used by processes that are not this one or
 * its descendants (other people's work on a shared machine), and the machine's
 * steal time (other virtual machines' work on the same host), per named phase.
 * Processes born and gone within one second are missed.
 */
export function startInterferenceMonitor() {
  const self = process.pid;
  const phases = new Map();
  let phase = 'start';
  let last = processTable();
  let lastAt = performance.now();
  let lastSteal = machineStealUs();
  const isMine = (pid, table) => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === self) return true;
      p = table.get(p)?.[0] ?? 0;
    }
    return false;
  };
  const sample = () => {
    const now = processTable();
    const at = performance.now();
    let other = 0;
    for (const [pid, [, cpu]] of now) {
      const before = last.get(pid)?.[1] ?? 0;
      if (!isMine(pid, now)) other += Math.max(0, cpu - before);
    }
    const seconds = (at - lastAt) / 1000;
    const steal = machineStealUs();
    const acc = phases.get(phase) ?? { otherCpuS: 0, stealS: 0, seconds: 0, maxCores: 0 };
    acc.otherCpuS += other / 1e6;
    acc.stealS += (steal - lastSteal) / 1e6;
    lastSteal = steal;
    acc.seconds += seconds;
    acc.maxCores = Math.max(acc.maxCores, other / 1e6 / seconds);
    phases.set(phase, acc);
    last = now;
    lastAt = at;
  };
  const timer = setInterval(sample, 1000);
  timer.unref();
  return {
    phase: (name) => { sample(); phase = name; },
    stop: () => {
      clearInterval(timer);
      sample();
      return Object.fromEntries([...phases].map(([k, v]) => [k, { meanCores: v.otherCpuS / Math.max(v.seconds, 1e-9), maxCores: v.maxCores, stealCores: v.stealS / Math.max(v.seconds, 1e-9), seconds: v.seconds }]));
    },
  };
}

/**
 * Waits (at most `maxMs`) until the whole machine is below `cores` busy over
 * one second; returns what it was last: other work on the machine distorts
 * every figure here, so it is reported.
 */
export async function waitMachineQuiet({ cores = 0.15, maxMs = 60_000 } = {}) {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const a = machineBusyUs();
    await sleep(1000);
    const busy = (machineBusyUs() - a) / 1e6;
    if (busy <= cores || Date.now() > deadline) return busy;
  }
}
