/**
 * hush: a room from a terminal, on the page's own client core. Everything
 * about the room goes to stdout (one line per event, or one JSON object per
 * event with --json); stderr gets only connection state and errors, never a
 * name, a message, a key or the link.
 *
 *   node dist/hush.js join '<link>' --name Bob [--json] [--ca cert.pem]
 */
import { readFileSync, realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_NAME_BYTES } from '../client/protocol';
import { joinRoom, type Room, type RoomEvent } from './node-room';
import { CLI_HELP_TEXT, parseJsonCommand, parseLine, type Input } from './input';
import { agreementLine, jsonLine, memberLine, messageLine, noticeLine, phaseLine, rosterLines, safeText } from './render';

export { joinRoom } from './node-room';

export const USAGE = [
  "Usage: hush join '<link>' --name <name> [--json] [--ca <file>]",
  '',
  '  <link>       the room link, https://host/#secret (http:// only for localhost);',
  '               or set HUSH_LINK, which keeps it out of shell history and the process list',
  '  --name, -n   the name the others see',
  '  --json       one JSON object per event on stdout; JSON commands on stdin:',
  '               {"type":"send","body":"…"} {"type":"verify","name":"…"} {"type":"who"} {"type":"leave"}',
  '  --ca <file>  trust this certificate (PEM) too, for a server with a self-signed one',
  '',
  'Type a line to send it; /help lists the commands. Ctrl-C or Ctrl-D leaves.',
].join('\n');

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

interface Args {
  link: string;
  name: string;
  isJson: boolean;
  ca?: Buffer;
}

const utf8 = new TextEncoder();

/** The command line, checked at the boundary: an Error says what to fix (without repeating the link). */
export function parseCliArgs(argv: string[], env: Record<string, string | undefined>): Args | Error | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string', short: 'n' }, json: { type: 'boolean' }, ca: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    return err instanceof Error ? new Error(err.message.split('\n')[0] ?? 'bad arguments') : new Error('bad arguments');
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals[0] === 'help') return 'help';
  if (positionals[0] !== 'join') return new Error('the only command is join');
  if (positionals.length > 2) return new Error('too many arguments: quote the link');
  const link = positionals[1] ?? env.HUSH_LINK ?? '';
  if (link === '') return new Error("give the room link: hush join '<link>' --name <name> (or set HUSH_LINK)");
  const name = (values.name ?? '').trim();
  if (name === '') return new Error('give your name with --name');
  if (utf8.encode(name).length > MAX_NAME_BYTES) return new Error(`the name is too long: at most ${MAX_NAME_BYTES} bytes`);
  let ca: Buffer | undefined;
  if (values.ca !== undefined) {
    try {
      ca = readFileSync(values.ca);
    } catch (err) {
      return new Error(`could not read the --ca file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { link, name, isJson: values.json === true, ...(ca === undefined ? {} : { ca }) };
}

/** Runs the command until the room is left or closed; resolves with the exit code. */
export function main(argv: string[], io: Io): Promise<number> {
  const args = parseCliArgs(argv, io.env);
  if (args === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return Promise.resolve(0);
  }
  if (args instanceof Error) {
    io.stderr.write(`hush: ${args.message}\n${USAGE}\n`);
    return Promise.resolve(2);
  }
  const status = (text: string) => io.stderr.write(`${text}\n`);
  let room: Room;
  try {
    room = joinRoom(args.link, { name: args.name, ...(args.ca === undefined ? {} : { ca: args.ca }), onError: (text) => status(`hush: ${text}`) });
  } catch (err) {
    status(`hush: ${err instanceof Error ? err.message : 'bad link'}`);
    return Promise.resolve(2);
  }
  return new Promise((resolve) => session(room, args.isJson, io, status, resolve));
}

function session(room: Room, isJson: boolean, io: Io, status: (text: string) => void, done: (code: number) => void): void {
  const isTty = !isJson && io.stdout.isTTY === true;
  const rl = createInterface({ input: io.stdin, output: isTty ? io.stdout : undefined, terminal: isTty });
  rl.setPrompt('> ');
  /** Prints above the line being typed, then puts the prompt back. */
  const out = (text: string | string[]) => {
    const lines = typeof text === 'string' ? [text] : text;
    io.stdout.write(`${isTty ? '\r\x1b[K' : ''}${lines.join('\n')}\n`);
    if (isTty && !isFinished) rl.prompt(true);
  };
  let isFinished = false;
  let isLeaving = false;
  const finish = (code: number) => {
    if (isFinished) return;
    isFinished = true;
    rl.close();
    done(code);
  };
  const leave = () => {
    if (isLeaving) return finish(130);
    isLeaving = true;
    void room.leave().then(() => finish(0));
  };

  room.on('phase', ({ phase }) => {
    status(phaseLine(phase));
    if (isJson) out(jsonLine({ type: 'phase', phase }));
    if (phase.kind === 'joined' && isTty) rl.prompt(true);
    if (phase.kind === 'closed' || phase.kind === 'ended') finish(1);
  });
  const show = (e: RoomEvent) => out(jsonLine(e));
  if (isJson) {
    room.on('message', show);
    room.on('notice', show);
    room.on('roster', show);
    room.on('agreement', show);
  } else {
    room.on('message', (e) => out(messageLine(e)));
    room.on('notice', (e) => out(noticeLine(e)));
    let lastAgreement = '';
    room.on('agreement', (e) => {
      // "Checking…" lasts a moment on every join: the terminal prints what it settles on.
      if (e.agreement.kind === 'checking' || e.text === lastAgreement) return;
      lastAgreement = e.text;
      out(agreementLine(e));
    });
    // The whole roster once every code is known, then each newcomer's code as it is.
    const codesShown = new Set<string>();
    room.on('roster', ({ members }) => {
      if (codesShown.size === 0) {
        if (!members.every((m) => m.code !== null)) return;
        for (const m of members) codesShown.add(m.fp);
        return out(rosterLines(members));
      }
      for (const m of members) {
        if (m.code === null || codesShown.has(m.fp)) continue;
        codesShown.add(m.fp);
        out(memberLine(m));
      }
    });
  }

  const say = (text: string) => out(isJson ? JSON.stringify({ type: 'error', text }) : text.split('\n').map((l) => `-- ${l}`));
  const run = async (input: Input): Promise<void> => {
    switch (input.kind) {
      case 'none': return;
      case 'error': return say(input.text);
      case 'help': return isJson ? say('no help in --json mode: see hush --help') : say(CLI_HELP_TEXT);
      case 'leave': return leave();
      case 'who': return isJson ? show({ type: 'roster', members: room.members() }) : out(rosterLines(room.members()));
      case 'verify': {
        const member = room.verify(input.name);
        if (member instanceof Error) return say(`${member.message[0]?.toUpperCase() ?? ''}${member.message.slice(1)}.`);
        if (isJson) return out(JSON.stringify({ type: 'verified', label: member.label, fp: member.fp }));
        return say(`You marked ${safeText(member.label, true)} as verified: their code is the one you compared.\n${memberLine(member).trim()}`);
      }
      case 'send':
        try {
          await room.send(input.body);
        } catch (err) {
          say(`Not sent: ${err instanceof Error ? err.message : 'error'}.`);
        }
    }
  };
  rl.on('line', (line) => {
    // The typed line gives way to the message as the room shows it.
    if (isTty) io.stdout.write('\x1b[1A\r\x1b[K');
    void run(isJson ? parseJsonCommand(line) : parseLine(line));
  });
  rl.on('close', () => { if (!isFinished) leave(); });
  rl.on('SIGINT', leave);
  process.on('SIGINT', leave);
  process.on('SIGTERM', leave);
}

const isMain = (): boolean => {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
};

if (isMain()) {
  void main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env })
    // Flushed first: a piped stdout is written asynchronously.
    .then((code) => process.stdout.write('', () => process.exit(code)));
}
