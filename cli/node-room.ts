/**
 * joinRoom for Node: the bot API of client/join-room.ts with a `ws` socket.
 * `import { joinRoom } from 'hush/dist/hush.js'` (or `../dist/hush.js` in a checkout).
 */
import { joinRoom as joinWith, type Room } from '../client/join-room';
import { nodeSocketOpener } from './node-socket';

export type { Member, Phase, Room, RoomEvent, Trust } from '../client/join-room';

export interface NodeJoinOptions {
  name: string;
  /** Extra trusted certificate(s), PEM, for a server with a self-signed certificate. */
  ca?: string | Buffer;
  /** Why a connection attempt failed, in words without addresses or room content. */
  onError?: (text: string) => void;
}

/** Joins the room of `link` (https://host/#secret; http:// only for localhost) with fresh keys. Throws on a bad link. */
export function joinRoom(link: string, options: NodeJoinOptions): Room {
  return joinWith(link, {
    name: options.name,
    openSocket: nodeSocketOpener({
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    }),
  });
}
