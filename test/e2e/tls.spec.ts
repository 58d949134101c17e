/**
 * TLS_CERT/TLS_KEY switch Hush to uWS's SSLApp: the whole journey over
 * https and wss, with a self-signed certificate made for this test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { startServer, type RunningServer } from '../support/server';
import { expect, inviteLink, log, roster, test } from './fixtures';

let dir = '';
let server: RunningServer;
test.beforeAll(async () => {
  dir = mkdtempSync(joinPath(tmpdir(), 'hush-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', joinPath(dir, 'key.pem'), '-out', joinPath(dir, 'cert.pem')], { stdio: 'ignore' });
  server = await startServer({ TLS_CERT: joinPath(dir, 'cert.pem'), TLS_KEY: joinPath(dir, 'key.pem') });
});
test.afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the journey works over https and wss, with HSTS', async ({ browser }) => {
  expect(server.origin).toMatch(/^https:/);
  const sockets: string[] = [];
  const person = async (name: string, url: string) => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const response = await page.goto(url);
    expect(response?.headers()['strict-transport-security']).toContain('max-age=');
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Join' }).click();
    return page;
  };
  const alice = await person('Alice', `${server.origin}/`);
  const bob = await person('Bob', await inviteLink(alice));
  await expect(roster(alice).getByRole('listitem')).toHaveCount(2);
  await bob.getByLabel('Message', { exact: true }).fill('over TLS');
  await bob.getByRole('button', { name: 'Send' }).click();
  await expect(log(alice)).toContainText('over TLS');
  expect(sockets.length).toBe(2);
  for (const url of sockets) expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws\//);
});
