import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRoomSecret } from '../../client/crypto';
import { joinRoom, type Room, type RoomEvent } from '../../cli/node-room';
import { startServer, type RunningServer } from '../support/server';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

/** Every event of a room, as it comes. */
function record(room: Room): RoomEvent[] {
  const events: RoomEvent[] = [];
  for (const type of ['phase', 'roster', 'agreement', 'message', 'notice'] as const) room.on(type, (e) => events.push(e));
  return events;
}

async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the bot API', () => {
  it('joins, sends and receives each message once, and leaves', async () => {
    const link = `${server.origin}/#${newRoomSecret()}`;
    const alice = joinRoom(link, { name: 'Alice' });
    const aliceEvents = record(alice);
    await alice.joined;
    const bob = joinRoom(link, { name: 'Bob' });
    const bobEvents = record(bob);
    await bob.joined;
    await until(() => alice.members().length === 2 && bob.members().length === 2);

    await alice.send('one');
    await until(() => bobEvents.some((e) => e.type === 'message' && e.body === 'one'));
    await alice.send('two');
    await until(() => bobEvents.some((e) => e.type === 'message' && e.body === 'two'));
    // Alice's own copies: once each, though each is shown pending and then confirmed.
    await new Promise((r) => setTimeout(r, 300));
    const bodies = (events: RoomEvent[]) => events.flatMap((e) => (e.type === 'message' ? [`${e.from}${e.isOwn ? ' (own)' : ''}: ${e.body}`] : []));
    expect(bodies(bobEvents)).toEqual(['Alice: one', 'Alice: two']);
    expect(bodies(aliceEvents)).toEqual(['Alice (own): one', 'Alice (own): two']);
    expect(aliceEvents.filter((e) => e.type === 'notice').map((e) => e.type === 'notice' && e.text)).toEqual(['Bob joined. Compare safety codes to know it is really them.']);

    // Verifying needs the code the person compared: wait until it is computed.
    await until(() => alice.members().every((m) => m.code !== null));
    const verified = alice.verify('Bob');
    expect(verified).toMatchObject({ label: 'Bob', trust: 'verified' });
    expect(alice.verify('Carol')).toEqual(new Error('no one called Carol is in the room'));

    const iterator = bob.events();
    await alice.leave();
    expect(alice.phase()).toEqual({ kind: 'left' });
    await until(() => bobEvents.some((e) => e.type === 'notice' && e.text === 'Alice left.'));
    await bob.leave();
    const rest: string[] = [];
    for await (const e of iterator) rest.push(e.type);
    // The iterator ends with the leave.
    expect(rest.at(-1)).toBe('phase');
  });

  it('rejects `joined` with the reason when the server cannot be reached', async () => {
    const errors: string[] = [];
    const room = joinRoom(`http://127.0.0.1:9/#${newRoomSecret()}`, { name: 'Bob', onError: (t) => errors.push(t) });
    await expect(room.joined).rejects.toThrow('the connection to the server was lost');
    expect(errors).toEqual(['the server refused the connection (ECONNREFUSED)']);
  });

  it('throws on a link it refuses, before connecting', () => {
    expect(() => joinRoom(`http://hush.example/#${newRoomSecret()}`, { name: 'Bob' })).toThrow('refusing an http:// link to another machine');
  });
});
