/**
 * What a typed line (or a `--json` command) asks for. The page's own parser
 * (client/commands.ts) decides what a message is, so "/me waves" and "//text"
 * travel exactly as the page sends them; the terminal adds the commands the
 * page has buttons for.
 */
import { parseCommand } from '../client/commands';
import { MAX_BODY_BYTES } from '../client/protocol';

export type Input =
  | { kind: 'send'; body: string }
  | { kind: 'who' }
  | { kind: 'verify'; name: string }
  | { kind: 'help' }
  | { kind: 'leave' }
  | { kind: 'none' }
  | { kind: 'error'; text: string };

export const CLI_HELP_TEXT = [
  'Commands (only you see this):',
  '/who — the members, their safety codes and whether you verified them',
  '/verify <name> — after comparing their code with them, aloud or in person',
  '/me waves — shows as “* (your name) waves”',
  '/leave — leave the room (Ctrl-C or Ctrl-D too)',
  '/help — this list',
  '//text — sends text that starts with a slash',
].join('\n');

const CLI_COMMAND = /^\/(who|verify|leave|quit)(?=\s|$)\s*(.*)$/is;
const utf8 = new TextEncoder();

export function parseLine(line: string): Input {
  const text = line.replace(/\r$/, '');
  if (text.trim() === '') return { kind: 'none' };
  const match = CLI_COMMAND.exec(text);
  if (match !== null) {
    const name = (match[1] ?? '').toLowerCase();
    const rest = (match[2] ?? '').trim();
    if (name === 'who') return { kind: 'who' };
    if (name === 'leave' || name === 'quit') return { kind: 'leave' };
    return rest === '' ? { kind: 'error', text: 'Say whose code you compared, like “/verify Alice”.' } : { kind: 'verify', name: rest };
  }
  const command = parseCommand(text);
  if (command.kind !== 'send') return command;
  return checkBody(command.body);
}

/** A `--json` command line: `{"type":"send","body":…}`, `{"type":"verify","name":…}`, `{"type":"who"}`, `{"type":"leave"}`. */
export function parseJsonCommand(line: string): Input {
  if (line.trim() === '') return { kind: 'none' };
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { kind: 'error', text: 'not a JSON command' };
  }
  if (typeof raw !== 'object' || raw === null || !('type' in raw)) return { kind: 'error', text: 'a command needs a "type"' };
  const field = (key: string): string | null => (key in raw && typeof (raw as Record<string, unknown>)[key] === 'string' ? String((raw as Record<string, unknown>)[key]) : null);
  switch (raw.type) {
    case 'send': {
      const body = field('body');
      return body === null || body === '' ? { kind: 'error', text: 'send needs a "body" string' } : checkBody(body);
    }
    case 'verify': {
      const name = field('name') ?? field('fp');
      return name === null ? { kind: 'error', text: 'verify needs a "name" (a label) or an "fp"' } : { kind: 'verify', name };
    }
    case 'who': return { kind: 'who' };
    case 'leave': return { kind: 'leave' };
    default: return { kind: 'error', text: 'unknown command type: use send, verify, who or leave' };
  }
}

function checkBody(body: string): Input {
  const size = utf8.encode(body).length;
  if (size > MAX_BODY_BYTES) return { kind: 'error', text: `Not sent: that is ${size} bytes, and a message holds at most ${MAX_BODY_BYTES}. Send it in parts.` };
  return { kind: 'send', body };
}
