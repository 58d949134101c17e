// Usage: node test/ensure-debian-package.mjs <package> <ENV_VAR> <default binary> [<package> <ENV_VAR> <default binary>]…
// The tests drive Debian's Chromium, Firefox ESR, WebKitGTK (under Xvfb) and
// HAProxy (browser and balancer builds cannot be downloaded here). Install
// the packages whose binaries are missing, in one apt-get run, when we are
// root; otherwise stop with one line saying what to do. ENV_VAR, when set,
// names another binary to use instead.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const USAGE = 'usage: node test/ensure-debian-package.mjs <package> <ENV_VAR> <default binary> [<package> <ENV_VAR> <default binary>]…';
const args = process.argv.slice(2);
if (args.length === 0 || args.length % 3 !== 0) {
  console.error(USAGE);
  process.exit(2);
}
const wanted = [];
for (let i = 0; i < args.length; i += 3) {
  const [pkg, envVar, fallback] = args.slice(i, i + 3);
  wanted.push({ pkg, envVar, binary: process.env[envVar] || fallback });
}
const missing = wanted.filter((w) => !existsSync(w.binary));
if (missing.length === 0) process.exit(0);

const overridden = missing.filter((w) => process.env[w.envVar]);
if (overridden.length > 0 || process.getuid?.() !== 0) {
  const first = overridden[0] ?? missing[0];
  const pkgs = missing.map((w) => w.pkg).join(' ');
  console.error(`${first.pkg} not found at ${first.binary}: run "sudo apt-get install ${pkgs}" (or set ${missing.map((w) => w.envVar).join(', ')} to ${missing.length === 1 ? 'its binary' : 'their binaries'}), then run npm test again.`);
  process.exit(1);
}

const pkgs = [...new Set(missing.map((w) => w.pkg))];
console.log(`${pkgs.join(', ')} missing: installing Debian's ${pkgs.join(' ')} with apt-get…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const aptArgs of [['update', '-qq'], ['install', '-y', '-qq', ...pkgs]]) {
  const run = spawnSync('apt-get', aptArgs, { stdio: 'inherit', env });
  if (run.status !== 0) {
    console.error(`"apt-get ${aptArgs.join(' ')}" failed (exit ${run.status}); install ${pkgs.join(' ')} by hand, then run npm test again.`);
    process.exit(1);
  }
}
for (const w of missing) {
  if (!existsSync(w.binary)) {
    console.error(`apt-get installed ${w.pkg} but ${w.binary} is still missing; set ${w.envVar} to its binary.`);
    process.exit(1);
  }
}
