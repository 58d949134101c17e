/**
 * One real Hush server per worker (on a free loopback port), and helpers
 * that act as a person would: open the link, type a name, press Join.
 */
import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';
import { startServer, type RunningServer } from '../support/server';

export interface Person {
  page: Page;
  name: string;
  /** Console errors the page logged (CSP and Trusted Types violations land here). */
  errors: string[];
}

export const test = base.extend<{ open: (url: string, name?: string) => Promise<Person> }, { server: RunningServer }>({
  server: [
    async ({}, use) => {
      const server = await startServer();
      await use(server);
      await server.stop();
    },
    { scope: 'worker' },
  ],
  open: async ({ browser }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (url, name) => {
      const context = await browser.newContext();
      contexts.push(context);
      return openIn(context, url, name);
    });
    for (const c of contexts) await c.close();
  },
});

/** Opens the app in `context`, collecting console errors, and joins when a name is given. */
export async function openIn(context: BrowserContext, url: string, name?: string): Promise<Person> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  const person = { page, name: name ?? '', errors };
  if (name !== undefined) await join(person);
  return person;
}

export async function join(person: Person): Promise<void> {
  await person.page.getByLabel('Your name').fill(person.name);
  await person.page.getByRole('button', { name: 'Join' }).click();
  // My own entry, by its name element (a look-alike name gets a " #code" suffix): a text filter on
  // the whole entry also matches another member's entry that mentions the name.
  const label = new RegExp(`^${person.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( #[0-9A-Za-z_-]+)?$`);
  await expect(roster(person.page).locator('li[data-trust="self"] .name').getByText(label)).toBeVisible();
}

export const roster = (page: Page) => page.getByRole('list', { name: 'Participants' });
export const log = (page: Page) => page.getByRole('log');

export async function send(person: Person, text: string): Promise<void> {
  await person.page.getByLabel('Message').fill(text);
  await person.page.getByRole('button', { name: 'Send' }).click();
}

/** Each message in the log as "sender: body". */
export async function messages(page: Page): Promise<string[]> {
  return log(page).locator('.message').evaluateAll((items) =>
    items.map((li) => `${li.querySelector('.sender')?.textContent ?? ''}: ${li.querySelector('.body')?.textContent ?? ''}`));
}

/**
 * The full room link as the invite panel shows it (what "Copy link" copies),
 * read without the clipboard. Retried, since a join in flight swaps the screen.
 */
export async function inviteLink(page: Page): Promise<string> {
  const button = page.getByRole('button', { name: 'Link QR' });
  let link = '';
  await expect(async () => {
    if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
    link = await page.getByRole('textbox', { name: 'Room link' }).inputValue({ timeout: 1_000 });
  }).toPass();
  if ((await button.getAttribute('aria-expanded')) === 'true') await button.click();
  return link;
}

export { expect };
