import { describe, expect, it } from 'vitest';
import { findMember, parseRoomLink } from '../../client/join-room';
import type { Member } from '../../client/roster';
import { parseCliArgs } from '../../cli/hush';

const SECRET = 'q5Xk0d0Xr7n3m8QyT2kq1z6r0b3v8Jc9WcZx4Hn2aLs';

describe('reading a room link', () => {
  it.each([
    [`https://hush.example/#${SECRET}`, 'https://hush.example', 'wss://hush.example'],
    [`https://hush.example:8443/#${SECRET}`, 'https://hush.example:8443', 'wss://hush.example:8443'],
    [`https://hush.example/some/path?x=1#${SECRET}`, 'https://hush.example', 'wss://hush.example'],
    [`  https://hush.example/#${SECRET}\n`, 'https://hush.example', 'wss://hush.example'],
    [`http://localhost:8080/#${SECRET}`, 'http://localhost:8080', 'ws://localhost:8080'],
    [`http://127.0.0.1:8080/#${SECRET}`, 'http://127.0.0.1:8080', 'ws://127.0.0.1:8080'],
    [`http://127.3.4.5/#${SECRET}`, 'http://127.3.4.5', 'ws://127.3.4.5'],
    [`http://[::1]:8080/#${SECRET}`, 'http://[::1]:8080', 'ws://[::1]:8080'],
  ])('%j opens the room at %s over %s', (link, origin, socketOrigin) => {
    const parsed = parseRoomLink(link);
    if (parsed instanceof Error) throw parsed;
    expect(parsed.origin).toBe(origin);
    expect(parsed.socketOrigin).toBe(socketOrigin);
    expect(parsed.secret).toHaveLength(32);
  });

  it.each([
    [`http://hush.example/#${SECRET}`, 'refusing an http:// link to another machine'],
    [`http://192.168.1.10:8080/#${SECRET}`, 'refusing an http:// link to another machine'],
    [`http://localhost.evil.example/#${SECRET}`, 'refusing an http:// link to another machine'],
    [`http://127.0.0.1.evil.example/#${SECRET}`, 'refusing an http:// link to another machine'],
    [`ws://localhost/#${SECRET}`, 'this is not a room link'],
    [`file:///tmp/#${SECRET}`, 'this is not a room link'],
    [SECRET, 'this is not a room link'],
    ['https://hush.example/', 'this link has no room secret'],
    ['https://hush.example/#', 'this link has no room secret'],
    [`https://hush.example/#${SECRET.slice(1)}`, 'this link is incomplete or damaged'],
    [`https://hush.example/#${SECRET}x`, 'this link is incomplete or damaged'],
  ])('refuses %j: %s', (link, message) => {
    const parsed = parseRoomLink(link);
    expect(parsed).toBeInstanceOf(Error);
    expect((parsed as Error).message).toContain(message);
    // The secret is the room: an error someone may paste must not carry it.
    expect((parsed as Error).message).not.toContain(SECRET.slice(4, 20));
  });
});

describe('the command line', () => {
  it('takes the link and the name, or the link from HUSH_LINK', () => {
    expect(parseCliArgs(['join', `https://h.example/#${SECRET}`, '--name', ' Bob '], {})).toEqual({ link: `https://h.example/#${SECRET}`, name: 'Bob', isJson: false });
    expect(parseCliArgs(['join', '-n', 'Bob', '--json'], { HUSH_LINK: 'L' })).toEqual({ link: 'L', name: 'Bob', isJson: true });
  });

  it.each([
    [['join', 'L'], 'give your name with --name'],
    [['join', '--name', 'Bob'], 'give the room link'],
    [['join', 'L', '--name', 'x'.repeat(65)], 'the name is too long'],
    [['join', 'L', 'extra', '--name', 'Bob'], 'too many arguments: quote the link'],
    [['leave'], 'the only command is join'],
    [['join', 'L', '--name', 'Bob', '--ca', '/nonexistent/cert.pem'], 'could not read the --ca file (ENOENT)'],
    [['join', 'L', '--nmae', 'Bob'], "Unknown option '--nmae'"],
  ])('%j is refused: %s', (argv, message) => {
    const parsed = parseCliArgs(argv, {});
    expect(parsed).toBeInstanceOf(Error);
    expect((parsed as Error).message).toContain(message);
  });
});

const member = (name: string, label: string, fp: string, isSelf = false): Member => ({
  fp, name, label, isSelf, trust: 'unverified', code: { digits: '1'.repeat(30), emoji: [] },
  keys: {} as Member['keys'],
});

describe('finding whom /verify means', () => {
  const members = [member('Bob', 'Bob', 'fp-me', true), member('Alice', 'Alice #11111', 'fp-a1'), member('Alice', 'Alice #22222', 'fp-a2'), member('Carol', 'Carol', 'fp-c')];

  it.each([
    ['Carol', 'fp-c'],
    ['carol', 'fp-c'],
    ['Alice #22222', 'fp-a2'],
    ['alice #11111', 'fp-a1'],
    ['fp-a1', 'fp-a1'],
  ])('%j is %s', (query, fp) => {
    expect(findMember(members, query)).toMatchObject({ fp });
  });

  it('asks which, by label, when two members share the name', () => {
    expect(findMember(members, 'Alice')).toEqual(new Error('2 members are called Alice: say which, as Alice #11111 or Alice #22222'));
  });

  it('never finds yourself, nor someone absent', () => {
    expect(findMember(members, 'Bob')).toEqual(new Error('no one called Bob is in the room'));
    expect(findMember(members, 'Dave')).toEqual(new Error('no one called Dave is in the room'));
  });
});
