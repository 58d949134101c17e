import { describe, expect, it } from 'vitest';
import { Timeline } from '../../client/timeline';
import { encodeServerFrame } from '../../client/protocol';
import { NOTICE_COALESCE_MS } from '../../client/timing';
import { advance, makeRoom, messagesOf, noticesOf, post } from '../support/members';
import { rand, shapedEnvelope } from '../support/shapes';

const JUNK_FRAMES = 1_200;

describe('a flood of refused frames (issue 14)', () => {
  it.each([
    ['malformed frames', (_room: string) => '{"t":"msg","env":{}}', 'A message that was not correctly formed was blocked.'],
    ['well-shaped messages from a stranger', (room: string) => encodeServerFrame({ t: 'msg', env: shapedEnvelope(room, rand(32), 1) }), 'A message from someone who is not in this room was blocked.'],
  ])('keeps the real messages in the timeline and shows %s as one counted line', async (_what, junk, notice) => {
    const { keys, members: [alice, bob] } = await makeRoom(['Alice', 'Bob']);
    if (alice === undefined || bob === undefined) throw new Error('no members');
    for (const body of ['one', 'two', 'three']) await alice.session.receive(await post(bob, body));
    for (let i = 0; i < JUNK_FRAMES; i++) await alice.session.receive(junk(keys.roomId));
    await alice.session.receive(await post(bob, 'four'));

    expect(messagesOf(alice)).toEqual(['Bob: one', 'Bob: two', 'Bob: three', 'Bob: four']);
    expect(noticesOf(alice)).toEqual([`${notice} (×${JUNK_FRAMES})`]);
    expect(alice.session.view().timeline).toHaveLength(5);
    // The counters still count every one.
    expect(Object.values(alice.session.view().blocked).reduce((a, b) => a + b, 0)).toBe(JUNK_FRAMES);
  });

  it('starts a new line once the same notice has been quiet for a minute', async () => {
    const { members: [alice] } = await makeRoom(['Alice']);
    if (alice === undefined) throw new Error('no member');
    const junk = '{"t":"msg","env":{}}';
    await alice.session.receive(junk);
    await alice.session.receive(junk);
    advance(NOTICE_COALESCE_MS);
    await alice.session.receive(junk);
    expect(noticesOf(alice)).toEqual(['A message that was not correctly formed was blocked. (×2)', 'A message that was not correctly formed was blocked.']);
  });
});

describe('taking back a departure notice', () => {
  const who = { fp: 'bob-fp', name: 'Bob' };
  const LEFT = '{who} left.';
  const texts = (t: Timeline) => t.entries().map((e) => (e.kind === 'notice' ? e.text : e.kind));

  it('takes back the newest notice about the member when it is one of those asked for and recent enough', () => {
    let now = 1_000;
    const t = new Timeline(() => now);
    t.notice(LEFT, 'info', who);
    t.notice('{who} joined.', 'info', { fp: 'carol-fp', name: 'Carol' });
    now += 60_000;
    expect(t.takeBackNotice('bob-fp', ['{who} lost connection.', LEFT], 60_000)).toBe(LEFT);
    expect(texts(t)).toEqual(['{who} joined.']);
    // Nothing left to take back.
    expect(t.takeBackNotice('bob-fp', [LEFT], 60_000)).toBeNull();
  });

  it('leaves a notice older than the window, of other words, or not the newest about the member', () => {
    let now = 1_000;
    const t = new Timeline(() => now);
    t.notice(LEFT, 'info', who);
    now += 60_001;
    expect(t.takeBackNotice('bob-fp', [LEFT], 60_000)).toBeNull();
    t.notice(LEFT, 'info', who);
    t.notice('{who} sees a different member list.', 'warning', who);
    expect(t.takeBackNotice('bob-fp', [LEFT], 60_000)).toBeNull();
    expect(t.takeBackNotice('bob-fp', ['{who} sees a different member list.'], 60_000)).toBe('{who} sees a different member list.');
    expect(t.takeBackNotice('carol-fp', [LEFT], 60_000)).toBeNull();
    expect(texts(t)).toEqual([LEFT, LEFT]);
  });
});
