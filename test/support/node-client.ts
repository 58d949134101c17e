/** A Hush member in Node: a real RoomSession on a real WebSocket to a real server. */
import { RoomSession } from '../../client/room';
import { deriveRoomKeys, generateIdentity, signLogsRequest, type Identity } from '../../client/crypto';
import { LOGS_URL_LIFETIME_MS } from '../../client/protocol';
import { TestSocket } from './ws-client';
import { messagesOf, uploadText } from './members';

export interface NodeMember {
  session: RoomSession;
  socket: TestSocket;
  identity: Identity;
  /** Frames this member sent, oldest first (a message as uploaded: envelope and every wrap). */
  sent: string[];
  messages: () => string[];
  /** A URL of the room's /logs signed by this member, expiring at `exp`. */
  logsUrl: (exp?: number) => Promise<string>;
  /** Resolves once `pred` holds for this member's view, checked after every frame. */
  until: (pred: () => boolean, timeoutMs?: number) => Promise<void>;
}

export async function joinRoom(origin: string, secret: Uint8Array, name: string, identity?: Identity, localAddress?: string): Promise<NodeMember> {
  const keys = await deriveRoomKeys(secret);
  const id = identity ?? (await generateIdentity());
  const socket = await TestSocket.open(`${origin.replace('http', 'ws')}/ws/${keys.roomId}`, undefined, localAddress);
  const sent: string[] = [];
  const session = new RoomSession(keys, id, name, (f) => {
    sent.push(uploadText(f));
    socket.send(f);
  });
  const nonce = await socket.nonce;
  // Listening from here on: the session gets every frame after the challenge (nothing else comes before the hello).
  socket.ws.on('message', (data) => void session.receive(data.toString()));
  await session.start(nonce);
  const member = { session, socket, identity: id, sent } as NodeMember;
  member.logsUrl = async (exp = Date.now() + LOGS_URL_LIFETIME_MS) => `${origin}${await signLogsRequest(keys, id, exp)}`;
  member.messages = () => messagesOf({ session } as Parameters<typeof messagesOf>[0]);
  member.until = async (pred, timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return member;
}
