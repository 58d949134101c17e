// The cluster test puts Debian's HAProxy in front of two Hush processes.
// Install it when missing and we are root; otherwise stop with one line
// saying what to do.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { HAPROXY_PATH as haproxy } from '../deploy/haproxy-config.mjs';

if (existsSync(haproxy)) process.exit(0);

if (process.env.HAPROXY_PATH || process.getuid?.() !== 0) {
  console.error(`HAProxy not found at ${haproxy}: run "sudo apt-get install haproxy" (or set HAPROXY_PATH to an haproxy binary), then try again.`);
  process.exit(1);
}

console.log('HAProxy is missing: installing Debian\'s haproxy with apt-get…');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'haproxy']]) {
  const run = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (run.status !== 0) {
    console.error(`"apt-get ${args.join(' ')}" failed (exit ${run.status}); install haproxy by hand, then try again.`);
    process.exit(1);
  }
}
if (!existsSync(haproxy)) {
  console.error(`apt-get installed haproxy but ${haproxy} is still missing; set HAPROXY_PATH to its binary.`);
  process.exit(1);
}
