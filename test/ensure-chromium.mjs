// The end-to-end tests drive Debian's Chromium (Playwright's own browser
// download needs the internet). Install it when missing and we are root;
// otherwise stop with one line saying what to do.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (existsSync(chromium)) process.exit(0);

if (process.env.CHROMIUM_PATH || process.getuid?.() !== 0) {
  console.error(`Chromium not found at ${chromium}: run "sudo apt-get install chromium" (or set CHROMIUM_PATH to a Chromium binary), then run npm test again.`);
  process.exit(1);
}

console.log('Chromium is missing: installing Debian\'s chromium with apt-get…');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'chromium']]) {
  const run = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (run.status !== 0) {
    console.error(`"apt-get ${args.join(' ')}" failed (exit ${run.status}); install chromium by hand, then run npm test again.`);
    process.exit(1);
  }
}
if (!existsSync(chromium)) {
  console.error(`apt-get installed chromium but ${chromium} is still missing; set CHROMIUM_PATH to its binary.`);
  process.exit(1);
}
