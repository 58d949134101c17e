import { describe, expect, it } from 'vitest';
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
