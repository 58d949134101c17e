/**
 * What the page renders again when a message arrives (issue #19: "render only
 * what changed"). V8's precise coverage counts how often each function of the
 * bundle ran; the components are found in the minified bundle by a string
 * only they contain. Counts, not times: the result is the same on a loaded
 * machine.
 */
import { readFileSync } from 'node:fs';
import type { CDPSession } from '@playwright/test';
import { expect, inviteLink, join, log, roster, send, test, type Person } from './fixtures';

const BUNDLE = readFileSync(new URL('../../static/app.js', import.meta.url), 'utf8');

/** A component, by a literal that occurs once in the bundle, inside that component's own body. */
const COMPONENTS = {
  roster: 'To verify someone, compare all 30 digits',
  memberRow: '"data-standing"',
  message: 'not confirmed, may not have been delivered',
} as const;
type Name = keyof typeof COMPONENTS;

interface FunctionCoverage { ranges: { startOffset: number; endOffset: number; count: number }[] }
interface ScriptCoverage { url: string; functions: FunctionCoverage[] }

const offsetOf = (marker: string): number => {
  const at = BUNDLE.indexOf(marker);
  if (at < 0 || BUNDLE.indexOf(marker, at + 1) >= 0) throw new Error(`the bundle holds ${at < 0 ? 'no' : 'more than one'} ${marker}`);
  return at;
};

/** Calls of each component since the last take (taking resets V8's counters). */
async function callsSinceLast(cdp: CDPSession): Promise<Record<Name, number>> {
  const { result } = await cdp.send('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
  const app = result.find((s) => new URL(s.url).pathname === '/app.js');
  if (app === undefined) throw new Error('no coverage of /app.js');
  const callsOf = (marker: string): number => {
    const at = offsetOf(marker);
    // The innermost function around the marker: the component itself.
    const around = app.functions
      .map((f) => f.ranges[0])
      .filter((r): r is NonNullable<typeof r> => r !== undefined && r.startOffset <= at && at < r.endOffset)
      .sort((a, b) => (a.endOffset - a.startOffset) - (b.endOffset - b.startOffset))[0];
    return around?.count ?? 0;
  };
  return { roster: callsOf(COMPONENTS.roster), memberRow: callsOf(COMPONENTS.memberRow), message: callsOf(COMPONENTS.message) };
}

test('a message arriving renders its own entry only: not the member list nor a row of it, no earlier entry, and a quiet second renders none', async ({ server, browser, open }) => {
  const host = await open(`${server.origin}/`, 'Ana');
  const url = await inviteLink(host.page);
  const others = [host, await open(url, 'Ben'), await open(url, 'Cleo')];
  // The reader, counted from before the bundle loads.
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
  await page.goto(url);
  const reader: Person = { page, name: 'Dana', errors: [] };
  await join(reader);
  await expect(roster(page).getByRole('listitem')).toHaveCount(4);
  await expect(roster(page).locator('.code.pending')).toHaveCount(0);
  // Some history, so "earlier entries" exist.
  for (const [i, p] of others.entries()) {
    await send(p, `hello ${i}`);
    await expect(log(page).locator('.message .body').getByText(`hello ${i}`, { exact: true })).toBeVisible();
  }

  await callsSinceLast(cdp);
  await send(others[1] ?? host, 'one more');
  await expect(log(page).locator('.message .body').getByText('one more', { exact: true })).toBeVisible();
  // Past at least one tick of the room's clock too.
  await page.waitForTimeout(1_500);
  expect(await callsSinceLast(cdp)).toEqual({ roster: 0, memberRow: 0, message: 1 });

  await page.waitForTimeout(2_500);
  expect(await callsSinceLast(cdp)).toEqual({ roster: 0, memberRow: 0, message: 0 });
  await context.close();
});
