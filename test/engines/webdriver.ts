/**
 * WebKitGTK's MiniBrowser through WebKitWebDriver: a classic W3C WebDriver
 * client over HTTP (Node's fetch), and the Xvfb display it needs. Playwright
 * cannot drive Debian's WebKit build, and twenty requests do not need a package.
 * https://www.w3.org/TR/webdriver2/
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../support/server';

export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH || '/usr/bin/WebKitWebDriver';
export const WEBKIT_BROWSER = process.env.WEBKIT_BROWSER_PATH || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const XVFB = process.env.XVFB_PATH || '/usr/bin/Xvfb';
const START_TIMEOUT_MS = 15_000;
/** The key WebDriver uses for an element reference in JSON. */
const ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf';

export interface ElementRef { [ELEMENT_KEY]: string }

export const isElementRef = (x: unknown): x is ElementRef =>
  typeof x === 'object' && x !== null && typeof (x as Record<string, unknown>)[ELEMENT_KEY] === 'string';


/** Starts Xvfb on a display number it picks itself (-displayfd), so parallel runs never share one. */
export function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  const child = spawn(XVFB, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let said = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start: ${errors}`)), START_TIMEOUT_MS);
    child.stderr?.on('data', (d: Buffer) => (errors += d.toString()));
    const fd3 = child.stdio[3];
    if (fd3 === null || fd3 === undefined || !('on' in fd3)) return reject(new Error('Xvfb: no display pipe'));
    fd3.on('data', (d: Buffer) => {
      said += d.toString();
      if (!said.includes('\n')) return;
      clearTimeout(timer);
      resolve({ display: `:${said.trim()}`, process: child });
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Xvfb exited with ${code}: ${errors}`)); });
  });
}

export interface WebDriverSession {
  /** One W3C command: method, path under /session/{id}, JSON body; returns `value`. */
  command: (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => Promise<unknown>;
  capabilities: Record<string, unknown>;
  close: () => Promise<void>;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: method === 'POST' ? JSON.stringify(body ?? {}) : null,
  });
  const json = (await res.json()) as { value: unknown };
  const value = json.value as { error?: string; message?: string } | null;
  if (!res.ok) throw new Error(`WebDriver ${method} ${path}: ${value?.error ?? res.status}: ${value?.message ?? ''}`);
  return json.value;
}

/**
 * Starts Xvfb and WebKitWebDriver on free ports and opens one session (one
 * MiniBrowser). `proxyPort`: every non-loopback http request goes there.
 */
export async function startWebKit(proxyPort: number): Promise<WebDriverSession> {
  const xvfb = await startXvfb();
  const port = await freePort();
  // The W3C proxy capability makes WebKitWebDriver hang now and then at session start (about 1 in 4
  // here); GLib's proxy resolver reads the same settings from the environment, reliably.
  const env = { ...process.env, DISPLAY: xvfb.display, http_proxy: `http://127.0.0.1:${proxyPort}`, no_proxy: '127.0.0.1,localhost' };
  const driver = spawn(WEBKIT_DRIVER, [`--port=${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let driverErrors = '';
  driver.stderr?.on('data', (d: Buffer) => (driverErrors += d.toString()));
  const stopAll = () => {
    if (driver.exitCode === null) driver.kill('SIGTERM');
    if (xvfb.process.exitCode === null) xvfb.process.kill('SIGTERM');
  };
  // A worker that dies mid-test must not leave a display and a browser behind.
  process.once('exit', stopAll);
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        await call(base, 'GET', '/status');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`WebKitWebDriver did not answer: ${String(err)} ${driverErrors}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const created = (await call(base, 'POST', '/session', {
      capabilities: {
        alwaysMatch: {
          'webkitgtk:browserOptions': { binary: WEBKIT_BROWSER, args: ['--automation'] },
          timeouts: { script: 30_000, pageLoad: 30_000, implicit: 0 },
        },
      },
    })) as { sessionId: string; capabilities: Record<string, unknown> };
    const session = `${base}/session/${created.sessionId}`;
    return {
      capabilities: created.capabilities,
      command: (method, path, body) => call(session, method, path, body),
      close: async () => {
        await call(session, 'DELETE', '').catch(() => undefined);
        stopAll();
        process.off('exit', stopAll);
      },
    };
  } catch (err) {
    stopAll();
    throw err;
  }
}
