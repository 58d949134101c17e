/**
 * One small API over three browser engines, so a spec reads the same in each:
 * Debian's Chromium through Playwright, Firefox ESR through WebDriver BiDi
 * (puppeteer-core), WebKitGTK's MiniBrowser through classic WebDriver
 * (webdriver.ts). Every tab is isolated (its own context or window) and
 * collects the errors its page reports.
 *
 * Elements are found the same way in every engine, by what a person reads: a
 * field by its label, a control by its accessible name (aria-label, else its
 * text). Then the engine's own input clicks and types, as a person would.
 */
import { chromium, type Browser as PwBrowser, type ElementHandle as PwElement, type Page as PwPage } from '@playwright/test';
import puppeteer, { type Browser as PpBrowser, type ElementHandle as PpElement, type Page as PpPage } from 'puppeteer-core';
import { isElementRef, startWebKit, type ElementRef } from './webdriver';
import { startInsecureProxy, type InsecureProxy } from './insecure-proxy';

export const ENGINES = ['chromium', 'firefox', 'webkit'] as const;
export type EngineName = (typeof ENGINES)[number];

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const FIREFOX = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';
const WAIT_MS = 15_000;
const POLL_MS = 50;

export interface Tab {
  readonly engine: EngineName;
  goto: (url: string) => Promise<void>;
  /** Types `value` into the field labelled `label` (replacing what is there). */
  fill: (label: string, value: string) => Promise<void>;
  /** Clicks the button, link or summary whose accessible name is `name`. */
  click: (name: string) => Promise<void>;
  /** Waits until `selector` (default: the whole page) contains `text`. */
  waitForText: (text: string, selector?: string) => Promise<void>;
  /** textContent of the first element matching `selector` ('' when there is none). */
  text: (selector: string) => Promise<string>;
  /** Runs `fn(arg)` in the page (not as a page script, so the page's CSP does not apply) and returns its JSON result. */
  evaluate: <A, T>(fn: (arg: A) => T | Promise<T>, arg: A) => Promise<T>;
  /** Waits until `fn(arg)` returns something truthy in the page. */
  waitFor: <A>(fn: (arg: A) => unknown, arg: A, what: string) => Promise<void>;
  /** Errors the page reported so far: uncaught errors, rejections, console.error, CSP violations. */
  errors: () => Promise<string[]>;
  close: () => Promise<void>;
}

export interface OpenOptions {
  /** Runs before any page script on every navigation (Chromium and Firefox only: classic WebDriver has no such hook). */
  init?: string;
}

export interface Engine {
  readonly name: EngineName;
  readonly version: string;
  /** Whether `open` can take an init script. */
  readonly hasInitScripts: boolean;
  /** `http://hush.test:<port>/` reaches the Hush server on 127.0.0.1:<port> through a proxy: an origin that is not a secure context. */
  insecureUrl: (origin: string, path?: string) => string;
  open: (url: string, options?: OpenOptions) => Promise<Tab>;
  close: () => Promise<void>;
}

// ---------------------------------------------------------------------------
// In the page. These run as expressions the engine evaluates; they must not
// reference anything outside themselves.

const FIND_FIELD = `(label) => {
  for (const l of document.querySelectorAll('label')) if (l.textContent.trim() === label && l.control) return l.control;
  return document.querySelector('[aria-label="' + CSS.escape(label) + '"]');
}`;
const FIND_CONTROL = `(name) => {
  const shown = (el) => el.getClientRects().length > 0;
  for (const el of document.querySelectorAll('button, a, summary, [role=button]')) {
    if (((el.getAttribute('aria-label') ?? el.textContent) || '').trim() === name && shown(el)) return el;
  }
  return null;
}`;
/** Like a person's pointer: the control is scrolled into view and nothing covers its centre. */
const IS_CLICKABLE = `(el) => {
  if (el === null) return false;
  el.scrollIntoView({ block: 'center', inline: 'center' });
  const r = el.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return hit !== null && el.contains(hit);
}`;
/** Installed after every navigation: what the page reports, kept for errors(). */
const CAPTURE = `(() => {
  if (window.__engineErrors) return;
  const errors = (window.__engineErrors = []);
  addEventListener('error', (e) => errors.push('uncaught: ' + (e.message || e.type)));
  addEventListener('unhandledrejection', (e) => errors.push('unhandled rejection: ' + String(e.reason)));
  document.addEventListener('securitypolicyviolation', (e) => errors.push('CSP violation: ' + e.violatedDirective));
  const original = console.error;
  console.error = (...args) => { errors.push('console.error: ' + args.map(String).join(' ')); original.apply(console, args); };
})()`;
const CAPTURED = 'window.__engineErrors ?? []';

const call = (source: string, arg: unknown): string => `(${source})(${JSON.stringify(arg) ?? 'undefined'})`;

/** What each engine must provide; the Tab API is built on it once. */
interface Backend {
  goto: (url: string) => Promise<void>;
  /** Evaluates an expression (awaiting a promise) and returns its JSON value. */
  run: (expression: string) => Promise<unknown>;
  /** Evaluates an expression that yields an element (or null). */
  element: (expression: string) => Promise<unknown>;
  click: (element: unknown) => Promise<void>;
  type: (element: unknown, text: string) => Promise<void>;
  /** Errors the engine reported itself (console, page errors), where it can. */
  reported: string[];
  close: () => Promise<void>;
}

function tabOf(engine: EngineName, b: Backend): Tab {
  const waitFor = async (expression: string, what: string): Promise<void> => {
    const deadline = Date.now() + WAIT_MS;
    let last: unknown = null;
    while (Date.now() < deadline) {
      try {
        if (await b.run(expression)) return;
      } catch (err) {
        // A navigation in flight destroys the context; try again.
        last = err;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const page = await b.run('location.href + " shows: " + (document.body?.textContent ?? "").replace(/\\s+/g, " ").slice(0, 300)').catch(String);
    throw new Error(`${engine}: timed out after ${WAIT_MS} ms waiting for ${what}${last === null ? '' : ` (${String(last)})`}; ${String(page)}`);
  };
  const find = async (finder: string, key: string, what: string): Promise<unknown> => {
    await waitFor(`!!${call(finder, key)}`, what);
    return b.element(call(finder, key));
  };
  return {
    engine,
    goto: async (url) => {
      await b.goto(url);
      await b.run(CAPTURE);
    },
    fill: async (label, value) => {
      const field = await find(FIND_FIELD, label, `a field labelled "${label}"`);
      await b.type(field, value);
      // Typing is done when the page holds the whole value (Preact re-renders on input).
      await waitFor(`(${FIND_FIELD})(${JSON.stringify(label)})?.value === ${JSON.stringify(value)}`, `"${label}" to hold what was typed`);
    },
    click: async (name) => {
      const control = await find(FIND_CONTROL, name, `a control named "${name}"`);
      await waitFor(`(${IS_CLICKABLE})(${call(FIND_CONTROL, name)})`, `"${name}" not to be covered by anything`);
      await b.click(control);
    },
    waitForText: (text, selector = 'body') =>
      waitFor(`(document.querySelector(${JSON.stringify(selector)})?.textContent ?? '').includes(${JSON.stringify(text)})`, `"${text}" in ${selector}`),
    text: async (selector) => String(await b.run(`document.querySelector(${JSON.stringify(selector)})?.textContent ?? ''`)),
    evaluate: async <A, T>(fn: (arg: A) => T | Promise<T>, arg: A) => (await b.run(call(fn.toString(), arg))) as T,
    waitFor: (fn, arg, what) => waitFor(`!!${call(fn.toString(), arg)}`, what),
    errors: async () => [...b.reported, ...((await b.run(CAPTURED).catch(() => [])) as string[])],
    close: b.close,
  };
}

// ---------------------------------------------------------------------------
// Chromium (Playwright)

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

function pageBackend(page: PwPage, close: () => Promise<void>): Backend {
  const reported: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') reported.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => reported.push(`page error: ${e.message}`));
  return {
    reported,
    goto: async (url) => { await page.goto(url); },
    run: (expression) => page.evaluate(expression),
    element: async (expression) => (await page.evaluateHandle(expression)).asElement(),
    click: async (el) => (el as PwElement).click(),
    type: async (el, text) => (el as PwElement).fill(text),
    close,
  };
}

async function launchChromium(proxy: InsecureProxy): Promise<Engine> {
  const browser: PwBrowser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    proxy: { server: `http://127.0.0.1:${proxy.port}`, bypass: '127.0.0.1,localhost' },
  });
  return {
    name: 'chromium',
    version: `Chromium ${browser.version()}`,
    hasInitScripts: true,
    insecureUrl: proxy.urlFor,
    open: async (url, options = {}) => {
      const context = await browser.newContext();
      if (options.init !== undefined) await context.addInitScript(options.init);
      const tab = tabOf('chromium', pageBackend(await context.newPage(), () => context.close()));
      await tab.goto(url);
      return tab;
    },
    close: async () => {
      await browser.close();
      await proxy.close();
    },
  };
}

// ---------------------------------------------------------------------------
// Firefox (puppeteer-core over WebDriver BiDi)

function firefoxBackend(page: PpPage, close: () => Promise<void>): Backend {
  const reported: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') reported.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => reported.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  return {
    reported,
    goto: async (url) => { await page.goto(url); },
    run: (expression) => page.evaluate(expression),
    element: async (expression) => (await page.evaluateHandle(expression)).asElement(),
    click: async (el) => (el as PpElement<Element>).click(),
    type: async (el, text) => {
      const field = el as PpElement<HTMLInputElement>;
      await field.evaluate((f) => { f.focus(); f.select(); });
      await field.type(text);
    },
    close,
  };
}

async function launchFirefox(proxy: InsecureProxy): Promise<Engine> {
  const browser: PpBrowser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: {
      'network.proxy.type': 1,
      'network.proxy.http': '127.0.0.1',
      'network.proxy.http_port': proxy.port,
      'network.proxy.no_proxies_on': '127.0.0.1, localhost',
    },
  });
  return {
    name: 'firefox',
    version: `Firefox ${(await browser.version()).split('/').pop() ?? ''}`,
    hasInitScripts: true,
    insecureUrl: proxy.urlFor,
    open: async (url, options = {}) => {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      if (options.init !== undefined) await page.evaluateOnNewDocument(options.init);
      const tab = tabOf('firefox', firefoxBackend(page, () => context.close()));
      await tab.goto(url);
      return tab;
    },
    close: async () => {
      await browser.close();
      await proxy.close();
    },
  };
}

// ---------------------------------------------------------------------------
// WebKit (classic WebDriver): one session, one window per tab; a command
// goes to the current window, so commands are queued and switch first.

async function launchWebKit(proxy: InsecureProxy): Promise<Engine> {
  const session = await startWebKit(proxy.port);
  let queue: Promise<unknown> = Promise.resolve();
  let current = String(await session.command('GET', '/window'));
  /** Windows in use; the first is the session's own, which is kept (closing the last window ends the session). */
  const windows = new Set<string>();
  const first = current;
  const inWindow = <T>(handle: string, work: () => Promise<T>): Promise<T> => {
    const next = queue.then(async () => {
      if (current !== handle) {
        await session.command('POST', '/window', { handle });
        current = handle;
      }
      return work();
    });
    queue = next.catch(() => undefined);
    return next;
  };
  const elementId = (el: unknown): string => {
    if (!isElementRef(el)) throw new Error('webkit: not an element');
    return Object.values(el as ElementRef)[0] as string;
  };
  const version = `WebKitGTK ${String(session.capabilities.browserVersion ?? '')}`;
  return {
    name: 'webkit',
    version,
    hasInitScripts: false,
    insecureUrl: proxy.urlFor,
    open: async (url, options = {}) => {
      if (options.init !== undefined) throw new Error('webkit: classic WebDriver cannot run a script before the page');
      const handle = windows.has(first)
        ? ((await inWindow(first, () => session.command('POST', '/window/new', { type: 'tab' }))) as { handle: string }).handle
        : first;
      windows.add(handle);
      const backend: Backend = {
        reported: [],
        goto: (to) => inWindow(handle, async () => { await session.command('POST', '/url', { url: to }); }),
        run: async (expression) => {
          const script = `const done = arguments[0]; Promise.resolve().then(() => ${expression}).then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ error: String(e) }));`;
          const out = (await inWindow(handle, () => session.command('POST', '/execute/async', { script, args: [] }))) as { ok?: unknown; error?: string };
          if (out.error !== undefined) throw new Error(out.error);
          return out.ok;
        },
        element: (expression) => inWindow(handle, () => session.command('POST', '/execute/sync', { script: `return ${expression};`, args: [] })),
        click: (el) => inWindow(handle, async () => { await session.command('POST', `/element/${elementId(el)}/click`); }),
        type: (el, text) => inWindow(handle, async () => {
          await session.command('POST', `/element/${elementId(el)}/clear`);
          await session.command('POST', `/element/${elementId(el)}/value`, { text });
        }),
        close: () => inWindow(handle, async () => {
          windows.delete(handle);
          await session.command(handle === first ? 'POST' : 'DELETE', handle === first ? '/url' : '/window', { url: 'about:blank' });
        }).catch(() => undefined),
      };
      const tab = tabOf('webkit', backend);
      await tab.goto(url);
      return tab;
    },
    close: async () => {
      await session.close();
      await proxy.close();
    },
  };
}

export async function launch(name: EngineName): Promise<Engine> {
  const proxy = await startInsecureProxy();
  try {
    if (name === 'chromium') return await launchChromium(proxy);
    if (name === 'firefox') return await launchFirefox(proxy);
    return await launchWebKit(proxy);
  } catch (err) {
    await proxy.close();
    throw err;
  }
}
