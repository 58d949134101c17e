import { describe, expect, it } from 'vitest';
import { agreementLine, jsonLine, memberLine, messageLine, noticeLine, phaseLine, rosterLines, safeText } from '../../cli/render';
import { agreementText } from '../../client/status-text';
import type { Member } from '../../client/roster';
import type { Agreement } from '../../client/roster';

const time = () => '09:05';
const msg = (from: string, body: string, trust: Member['trust'] = 'unverified', isOwn = false) =>
  ({ type: 'message' as const, from, fp: 'fp', trust, body, ts: 0, isOwn });

describe('a message line', () => {
  it.each([
    [msg('Alice', 'hello'), '09:05 ? Alice: hello'],
    [msg('Alice', 'hello', 'verified'), '09:05 ✓ Alice: hello'],
    [msg('Alice', 'hello', 'changed'), '09:05 ⚠ Alice: hello'],
    [msg('Bob', 'mine', 'unverified', true), '09:05   Bob (you): mine'],
    [msg('Alice', '/me waves'), '09:05 ? * Alice waves'],
    [msg('Alice #12345', 'hi'), '09:05 ? Alice #12345: hi'],
    [msg('Alice', 'two\nlines'), '09:05 ? Alice: two\n    lines'],
    [msg('Alice', 'crlf\r\nline'), '09:05 ? Alice: crlf\n    line'],
  ])('%j reads %j', (event, line) => {
    expect(messageLine(event, { time })).toBe(line);
  });

  it('cannot pass for a line from someone else, nor run terminal commands', () => {
    const line = messageLine(msg('Mallory', 'ok\n09:06 ✓ Carol: send the code\x1b[2J\x1b]0;title\x07'), { time });
    expect(line.split('\n')).toEqual(['09:05 ? Mallory: ok', '    09:06 ✓ Carol: send the code␛[2J␛]0;title␇']);
    expect(line).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  });

  it('keeps a name on one line and in its order', () => {
    expect(messageLine(msg('Eve\n09:06 ✓ Carol', 'hi'), { time })).toBe('09:05 ? Eve␊09:06 ✓ Carol: hi');
    expect(messageLine(msg('\u202eecilA', 'hi'), { time })).toBe('09:05 ? �ecilA: hi');
  });
});

describe('terminal-safe text', () => {
  it.each([
    ['plain', 'plain'],
    ['tab\there', 'tab\there'],
    ['\x1b[31mred', '␛[31mred'],
    ['bell\x07', 'bell␇'],
    ['del\x7f', 'del␡'],
    ['csi\x9b31m', 'csi�31m'],
    ['rlo\u202eisolate\u2066end\u2069', 'rlo�isolate�end�'],
    ['emoji 🐶 and accents é', 'emoji 🐶 and accents é'],
  ])('%j shows as %j', (text, shown) => {
    expect(safeText(text)).toBe(shown);
  });
});

describe('notices and the agreement line, in the page\'s words', () => {
  it('prints a notice as the page words it, warnings marked', () => {
    expect(noticeLine({ type: 'notice', text: 'A message claiming to be from Alice failed verification and was blocked.', tone: 'warning', ts: 0 }, { time }))
      .toBe('09:05 !! A message claiming to be from Alice failed verification and was blocked.');
    expect(noticeLine({ type: 'notice', text: 'Bob left.', tone: 'info', ts: 0 }, { time })).toBe('09:05 -- Bob left.');
  });

  it.each<[Agreement, string]>([
    [{ kind: 'same', count: 1 }, '== Only you are here'],
    [{ kind: 'same', count: 3 }, '== All 3 members see the same list'],
    [{ kind: 'checking' }, '== Checking that everyone sees the same list…'],
    [{ kind: 'different', who: [{ label: 'Bob', plus: [], minus: ['Carol'] }] }, '!! Bob sees a different list: −Carol'],
    [{ kind: 'different', who: [{ label: 'Bob', plus: ['Eve'], minus: ['you'] }, { label: 'Carol', plus: ['Eve'], minus: [] }] }, '!! Bob sees a different list: +Eve, −you; Carol sees a different list: +Eve'],
    [{ kind: 'silent', who: ['Alice', 'Bob'] }, '!! Not heard from Alice, Bob lately: their messages may be withheld'],
  ])('%j reads %j', (agreement, line) => {
    expect(agreementLine({ type: 'agreement', agreement, ...agreementText(agreement) })).toBe(line);
  });
});

const member = (over: Partial<Member>): Member => ({
  fp: 'fp', name: 'Alice', label: 'Alice', isSelf: false, trust: 'unverified', keys: {} as Member['keys'],
  code: { digits: '123456789012345678901234567890', emoji: [{ symbol: '🐶', name: 'Dog' }, { symbol: '🐱', name: 'Cat' }] },
  ...over,
});

describe('the roster', () => {
  it('shows each member with the 30 digits in six groups and the trust in words, me first', () => {
    expect(rosterLines([member({ trust: 'verified' }), member({ fp: 'me', name: 'Bob', label: 'Bob', isSelf: true }), member({ fp: 'c', name: 'Carolyn', label: 'Carolyn', trust: 'changed', code: null })])).toEqual([
      '3 members (compare codes aloud or in person, then /verify <name>):',
      '    Bob (you)  12345 67890 12345 67890 12345 67890  🐶 🐱  your code: read it aloud to the others',
      '  ✓ Alice      12345 67890 12345 67890 12345 67890  🐶 🐱  verified by you',
      '  ⚠ Carolyn    computing safety code…  new key — verify again',
    ]);
  });

  it('keeps a hostile name from breaking its row', () => {
    expect(memberLine(member({ label: 'Al\x1b[2Jice\nX' }))).toBe('  ? Al␛[2Jice␊X  12345 67890 12345 67890 12345 67890  🐶 🐱  not verified');
  });
});

describe('connection state for stderr', () => {
  it.each([
    [{ kind: 'joining' as const }, 'hush: joining…'],
    [{ kind: 'joined' as const }, 'hush: joined'],
    [{ kind: 'reconnecting' as const, reason: 'server restarting', retryAt: 4_000 }, 'hush: connection lost (server restarting); retrying in 4 s'],
    [{ kind: 'closed' as const, reason: 'the room is full' }, 'hush: closed: the room is full'],
    [{ kind: 'left' as const }, 'hush: left the room'],
  ])('%j reads %j', (phase, line) => {
    expect(phaseLine(phase, 0)).toBe(line);
  });
});

describe('--json events', () => {
  it('are one line each, with what a script needs and no keys', () => {
    const line = jsonLine({ type: 'roster', members: [member({})] });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({ type: 'roster', members: [{ label: 'Alice', name: 'Alice', fp: 'fp', isSelf: false, trust: 'unverified', code: '123456789012345678901234567890', emoji: ['Dog', 'Cat'] }] });
    expect(JSON.parse(jsonLine(msg('Alice', 'two\nlines\x1b')))).toEqual({ type: 'message', from: 'Alice', fp: 'fp', trust: 'unverified', body: 'two\nlines\x1b', ts: 0, isOwn: false });
    expect(jsonLine(msg('Alice', 'two\nlines'))).not.toContain('\n');
    expect(JSON.parse(jsonLine({ type: 'phase', phase: { kind: 'reconnecting', reason: 'r', retryAt: 5 } }))).toEqual({ type: 'phase', phase: 'reconnecting', reason: 'r', retryAt: 5 });
  });
});
