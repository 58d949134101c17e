// Real Hush traffic for the load generator, made with the client core (the
// code the browser runs): identities (RSA-3072 + P-256), hellos MAC'd with
// each room's link key (with the room's door key, to answer each connection's
// challenge), and envelopes sealed with sealMessage for every member
// of the room. The bare relay and Socket.IO carry the same messages, as the
// frames Hush delivers or as the one frame Hush sent everyone before.
import { nanoid } from 'nanoid';

const BODY = 'On my way — see you at the station in ten minutes.';
/** RFC 8410's PKCS#8 wrapping of an Ed25519 seed, as client/crypto.ts builds it. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

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

/**
 * A message as one envelope with every wrap inside it, in the field order and
 * sizes of Hush's envelope before per-member delivery (wraps where
 * wrapHashes is): byte for byte the size of what every member was sent then.
 */
export function fullEnvelope({ env, wraps }) {
  const { wrapHashes: _hashes, sig, ...rest } = env;
  return { ...rest, wraps, sig };
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
    const secret = core.randomBytes(32);
    const keys = await core.deriveRoomKeys(secret);
    // The load generator signs each connection's door itself (it gets the challenge), with Node's crypto.
    // The client's own seed (never one that starts with a zero byte, PROTOCOL.md §2), or one room in 256 is refused.
    const seed = await core.doorSeedOf(secret);
    const door = { pub: keys.doorPub, pkcs8: Buffer.concat([ED25519_PKCS8_PREFIX, seed]).toString('base64url') };
    const hellos = await Promise.all(ids.map(async (id, m) => ({ hello: JSON.stringify(await core.makeHello(keys, id, `Member ${m + 1}`)), fp: id.fp })));
    const sealed = perSender === 0 ? [] : await Promise.all(ids.map((id) =>
      pool(perSender, 4, (k) => core.sealMessage(keys, id, { msgId: nanoid(), seq: k + 1, ts: Date.now(), body: BODY }, peers))));
    // Per message: Hush's upload, the frame one member receives from Hush (the
    // sender's own, as every member's is the same size), and the message as one
    // frame with every wrap inside the envelope, as Hush sent it before each
    // member got its own wrap alone: the bare relay carries one or the other.
    // Hush's upload is a binary frame (PROTOCOL.md §4.3): kept as base64 in the fixtures' JSON.
    const pools = sealed.map((list) => list.map((s) => Buffer.from(core.encodeUpload(s)).toString('base64')));
    const deliveryPools = sealed.map((list, m) => list.map((s) => JSON.stringify({ t: 'msg', env: s.env, wrap: s.wraps[ids[m].fp] })));
    const fullPools = sealed.map((list) => list.map((s) => JSON.stringify({ t: 'msg', env: fullEnvelope(s) })));
    return { roomId: keys.roomId, door, hellos, pools, deliveryPools, fullPools };
  });
}
