import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENSURE = fileURLToPath(new URL('../ensure-debian-package.mjs', import.meta.url));

/** Installs HAProxy when missing (as root), as `npm test` does Chromium; otherwise its one line says what to do. */
export default function setup(): void {
  const run = spawnSync(process.execPath, [ENSURE, 'haproxy', 'HAPROXY_PATH', '/usr/sbin/haproxy'], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error('HAProxy is missing: see the line above.');
}
