// Usage: node test/ensure-debian-package.mjs <package> <ENV_VAR> <default binary>
// The tests drive Debian's Chromium and HAProxy (browser and balancer builds
// cannot be downloaded here). Install the package when its binary is missing
// and we are root; otherwise stop with one line saying what to do. ENV_VAR,
// when set, names another binary to use instead.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const [pkg, envVar, fallback] = process.argv.slice(2);
if (pkg === undefined || envVar === undefined || fallback === undefined) {
  console.error('usage: node test/ensure-debian-package.mjs <package> <ENV_VAR> <default binary>');
  process.exit(2);
}
const binary = process.env[envVar] || fallback;
if (existsSync(binary)) process.exit(0);

if (process.env[envVar] || process.getuid?.() !== 0) {
  console.error(`${pkg} not found at ${binary}: run "sudo apt-get install ${pkg}" (or set ${envVar} to its binary), then run npm test again.`);
  process.exit(1);
}

console.log(`${pkg} is missing: installing Debian's ${pkg} with apt-get…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update', '-qq'], ['install', '-y', '-qq', pkg]]) {
  const run = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (run.status !== 0) {
    console.error(`"apt-get ${args.join(' ')}" failed (exit ${run.status}); install ${pkg} by hand, then run npm test again.`);
    process.exit(1);
  }
}
if (!existsSync(binary)) {
  console.error(`apt-get installed ${pkg} but ${binary} is still missing; set ${envVar} to its binary.`);
  process.exit(1);
}
