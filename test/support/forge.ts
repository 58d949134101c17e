/**
 * Attack 1 as the relay would play it: it knows the room id and every
 * member's public keys (from the hellos it relayed), but not the link. It
 * seals a message for everyone and signs it with its own key as `senderFp`:
 * the frame returned is the one it would hand `targetFp`.
 */
import { deriveRoomKeys, generateIdentity, importPeerKeys, randomBytes, sealMessage } from '../../client/crypto';
import { encodeServerFrame, parseSecretFragment, type Hello } from '../../client/protocol';

export async function relayForgery(link: string, hellos: readonly Hello[], senderFp: string, targetFp: string, msgId: string, body: string): Promise<string> {
  const secret = parseSecretFragment(new URL(link).hash);
  if (secret instanceof Error) throw secret;
  // The relay's own keys under the real room id: it cannot derive the link's.
  const relayKeys = { ...(await deriveRoomKeys(randomBytes(32))), roomId: (await deriveRoomKeys(secret)).roomId };
  const recipients = await Promise.all(hellos.map(async (h) => {
    const k = await importPeerKeys(h.encSpki, h.sigSpki);
    if (k instanceof Error) throw k;
    return k;
  }));
  const relayId = await generateIdentity();
  const forged = await sealMessage(relayKeys, { ...relayId, fp: senderFp }, { msgId, seq: 1, ts: Date.now(), body }, recipients);
  // The relay hands each target the wrap it made for it.
  return encodeServerFrame({ t: 'msg', env: forged.env, wrap: forged.wraps[targetFp] });
}
