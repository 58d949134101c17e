// Real Hush traffic for the load generator, made with the client core (the
// code the browser runs): identities (RSA-3072 + P-256), hellos MAC'd with
// each room's link key, and envelopes sealed with sealMessage for every member
// of the room. The same frames are sent to all three servers, so the bare
// relay and Socket.IO carry exactly the bytes Hush carries.
import { nanoid } from 'nanoid';

const BODY = 'On my way — see you at the station in ten minutes.';

/** Runs `make(i)` for i in [0, count) with at most `parallel` in flight. */
async function pool(count, parallel, make) {
  const out = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      out[i] = await make(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return out;
}

export async function makeIdentities(core, count) {
  return pool(count, 8, () => core.generateIdentity());
}

/**
 * rooms × members rooms of real members. For load rooms, `perSender`
 * envelopes per member (seq 1…perSender, fresh msgId each, wrapped for every
 * member, signed); for idle rooms only the hellos.
 */
export async function makeRooms(core, identities, { rooms, members, perSender }) {
  const ids = identities.slice(0, members);
  if (ids.length < members) throw new Error(`need ${members} identities, have ${identities.length}`);
  const peers = await Promise.all(ids.map((id) => core.importPeerKeys(id.encSpki, id.sigSpki)));
  return pool(rooms, 4, async () => {
    const keys = await core.deriveRoomKeys(core.randomBytes(32));
    const hellos = await Promise.all(ids.map(async (id, m) => core.encodeClientFrame({ t: 'hello', hello: await core.makeHello(keys, id, `Member ${m + 1}`) })));
    const pools = perSender === 0 ? [] : await Promise.all(ids.map((id) =>
      pool(perSender, 4, async (k) => core.encodeClientFrame({
        t: 'msg',
        env: await core.sealMessage(keys, id, { msgId: nanoid(), seq: k + 1, ts: Date.now(), body: BODY }, peers),
      }))));
    return { roomId: keys.roomId, hellos, pools };
  });
}
