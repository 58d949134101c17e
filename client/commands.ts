/**
 * What the composer does with what was typed. A message body is plain text:
 * "/me waves" travels as is and every receiver shows it as an action line
 * ("* Alice waves"); /help never leaves the tab.
 */

export type Command =
  | { kind: 'send'; body: string }
  | { kind: 'help' }
  | { kind: 'error'; text: string };

const ACTION_PREFIX = '/me ';
/** A command is a slash and letters, then a space or the end: "/usr/bin" or "/ hi" are plain text. */
const COMMAND = /^\/([a-z]+)(?=\s|$)\s*([\s\S]*)$/i;

export const HELP_TEXT = [
  'Commands (only you see this):',
  '/me waves — shows as “* (your name) waves”',
  '/help — this list',
  '//text — sends text that starts with a slash',
  'Enter sends; Shift+Enter starts a new line.',
].join('\n');

export function parseCommand(text: string): Command {
  if (text.startsWith('//')) return { kind: 'send', body: text.slice(1) };
  const match = COMMAND.exec(text);
  if (match === null) return { kind: 'send', body: text };
  const name = (match[1] ?? '').toLowerCase();
  const rest = (match[2] ?? '').trimEnd();
  if (name === 'help') return { kind: 'help' };
  if (name === 'me') {
    return rest === '' ? { kind: 'error', text: 'Say what you do after /me, like “/me waves”.' } : { kind: 'send', body: ACTION_PREFIX + rest };
  }
  return { kind: 'error', text: `There is no /${name} command. Type /help for the list, or start with // to send it as text.` };
}

/** The action of a "/me …" body, or null for an ordinary message. */
export function actionOf(body: string): string | null {
  if (!body.startsWith(ACTION_PREFIX)) return null;
  const action = body.slice(ACTION_PREFIX.length);
  return action.trim() === '' ? null : action;
}
