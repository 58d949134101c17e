import { beforeAll, describe, expect, it } from 'vitest';
import { makeRoom, post, type TestMember, type TestRoom } from '../support/members';

/** Safety codes are computed in the background: wait until the reader's roster has every one. */
async function codesReady(m: TestMember): Promise<void> {
  for (let i = 0; i < 600 && m.session.view().members.some((x) => x.code === null); i++) await new Promise((r) => setTimeout(r, 50));
  expect(m.session.view().members.every((x) => x.code !== null)).toBe(true);
}

// The page skips rendering by identity (issue #19): what did not change must come back as the same objects.
describe('the view of a room of six, as the page is handed it', () => {
  let room: TestRoom;
  let reader: TestMember;
  let sender: TestMember;
  beforeAll(async () => {
    room = await makeRoom(['Ana', 'Ben', 'Cleo', 'Dan', 'Eve', 'Finn']);
    [reader, sender] = room.members as [TestMember, TestMember];
    await codesReady(reader);
    for (const body of ['one', 'two']) await reader.session.receive(await post(sender, body));
  });

  it('keeps the member list and every earlier entry when a message arrives, and only appends the new one', async () => {
    const before = reader.session.view();
    expect(await reader.session.receive(await post(sender, 'three'))).toEqual([{ ok: true }]);
    const after = reader.session.view();
    expect(after).not.toBe(before);
    expect(after.members).toBe(before.members);
    expect(after.timeline.slice(0, before.timeline.length)).toEqual(before.timeline);
    after.timeline.slice(0, before.timeline.length).forEach((e, i) => expect(e).toBe(before.timeline[i]));
    expect(after.timeline.slice(before.timeline.length).map((e) => (e.kind === 'message' ? e.body : e.kind))).toEqual(['three']);
    expect(after.agreement).toBe(before.agreement);
    expect(after.blocked).toBe(before.blocked);
    expect(after.membership).toBe(before.membership);
  });

  it('hands the very same view after a tick of the clock that changed nothing', () => {
    const before = reader.session.view();
    reader.session.refresh();
    expect(reader.session.view()).toBe(before);
  });

  it('makes a new object of the member whose trust changed, and of nobody else', () => {
    const before = reader.session.view().members;
    const target = before.find((m) => m.fp === sender.identity.fp);
    reader.session.setVerified(sender.identity.fp, true);
    const after = reader.session.view().members;
    expect(after).not.toBe(before);
    expect(after.find((m) => m.fp === sender.identity.fp)).not.toBe(target);
    expect(after.find((m) => m.fp === sender.identity.fp)?.trust).toBe('verified');
    expect(after.filter((m) => m.fp !== sender.identity.fp)).toEqual(before.filter((m) => m.fp !== sender.identity.fp));
    after.filter((m) => m.fp !== sender.identity.fp).forEach((m) => expect(before).toContain(m));
  });
});
