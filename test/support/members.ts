/**
 * In-memory members for unit tests: real WebCrypto keys and real RoomSessions,
 * with the relay's job done by hand so a test can deliver, withhold or tamper.
 */
import { RoomSession, noticeText } from '../../client/room';
import { deriveRoomKeys, generateIdentity, randomBytes, type Identity, type RoomKeys, type Sealed } from '../../client/crypto';
import { decodeUpload, encodeUpload, uploadWraps, type Envelope, type Hello, type Wraps } from '../../client/protocol';

export interface TestMember {
  name: string;
  identity: Identity;
  session: RoomSession;
  hello: Hello;
  /** Frames this member handed to its relay, oldest first. */
  sent: string[];
}

export interface TestRoom {
  secret: Uint8Array;
  keys: RoomKeys;
  members: TestMember[];
}

let clock = 1_700_000_000_000;
/** A deterministic clock shared by all test members: each call is 1 ms later. */
export const tick = (): number => (clock += 1);
/** Moves the shared test clock forward. */
export const advance = (ms: number): void => {
  clock += ms;
};

/**
 * What an honest relay makes of a frame for member `fp`: a message upload
 * (envelope and every wrap) becomes that member's delivery, with its own wrap
 * only (PROTOCOL.md §8.4). Anything else, a delivery a test built included,
 * passes as it is.
 */
export function relayTo(text: string, fp: string): string {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return text;
  }
  // Only an upload exactly as a client sends it ({t, env, wraps}); a test's own mix of the two passes untouched.
  if (typeof frame !== 'object' || frame === null || !('wraps' in frame) || !('env' in frame) || Object.keys(frame).length !== 3) return text;
  const wrap = (frame.wraps as Partial<Wraps>)[fp];
  return JSON.stringify({ t: 'msg', env: frame.env, ...(wrap === undefined ? {} : { wrap }) });
}

/** A member's session behind the honest in-memory relay: frames reach it as `relayTo` delivers them. */
export class RelayedSession extends RoomSession {
  private readonly fp: string;

  constructor(...args: ConstructorParameters<typeof RoomSession>) {
    super(...args);
    this.fp = args[1].fp;
  }

  override receive(text: string): ReturnType<RoomSession['receive']> {
    return super.receive(relayTo(text, this.fp));
  }
}

/**
 * A frame as these helpers keep it: text as it is, a binary message upload
 * (PROTOCOL.md §4.3) as the JSON text of its envelope and wraps
 * ({t, env, wraps}), which tests read and tamper with (`sealedOf`, `relayTo`).
 */
export function uploadText(frame: string | Uint8Array): string {
  if (typeof frame === 'string') return frame;
  const upload = decodeUpload(frame);
  if (upload instanceof Error) throw upload;
  return JSON.stringify({ t: 'msg', env: upload.env, wraps: uploadWraps(upload) });
}

/** An upload's text ({t, env, wraps}, as `frameOf` or `uploadText` write it) as the binary frame a real relay takes. */
export function wireOf(text: string): Uint8Array<ArrayBuffer> {
  const { env, wraps } = JSON.parse(text) as Sealed;
  return encodeUpload({ env, wraps });
}

export async function makeMember(keys: RoomKeys, name: string, identity?: Identity): Promise<TestMember> {
  const sent: string[] = [];
  const id = identity ?? (await generateIdentity());
  const session = new RelayedSession(keys, id, name, (f) => sent.push(uploadText(f)), { now: tick });
  await session.start();
  const first = sent.shift();
  if (first === undefined) throw new Error('start() sent no hello');
  const hello = (JSON.parse(first) as { hello: Hello }).hello;
  return { name, identity: id, session, hello, sent };
}

/** Members who have all seen each other's hellos, as after the relay's welcome/join. */
export async function makeRoom(names: string[], secret = randomBytes(32)): Promise<TestRoom> {
  const keys = await deriveRoomKeys(secret);
  const members = await Promise.all(names.map((n) => makeMember(keys, n)));
  for (const m of members) {
    const others = members.filter((o) => o !== m).map((o) => o.hello);
    const verdicts = await m.session.receive(JSON.stringify({ t: 'welcome', members: others }));
    if (!verdicts.every((v) => v.ok)) throw new Error('a test member refused a valid hello');
  }
  return { secret, keys, members };
}

/** Posts `body` and returns the frame the member sent. */
export async function post(from: TestMember, body: string): Promise<string> {
  await from.session.post(body);
  const frame = from.sent.pop();
  if (frame === undefined) throw new Error('post() sent nothing');
  return frame;
}

/** The roster statement frame a member sent last. */
export const lastStatement = (m: TestMember): string => {
  const frame = [...m.sent].reverse().find((f) => f.includes('"t":"roster"'));
  if (frame === undefined) throw new Error('no statement sent');
  return frame;
};

/** The envelope and wraps of a message upload (what `post` returns). */
export const sealedOf = (frame: string): Sealed => {
  const { env, wraps } = JSON.parse(frame) as Sealed;
  return { env, wraps };
};
export const envOf = (frame: string): Envelope => sealedOf(frame).env;
/** A message upload, as its sender would hand it to the relay: each member receives it with its own wrap (`relayTo`). */
export const frameOf = ({ env, wraps }: Sealed): string => JSON.stringify({ t: 'msg', env, wraps });
/** One member's delivery, exactly as given: the relay's frame, not the sender's. */
export const deliveryOf = (env: Envelope, wrap?: string): string => JSON.stringify({ t: 'msg', env, ...(wrap === undefined ? {} : { wrap }) });

export const messagesOf = (m: TestMember) =>
  m.session.view().timeline.flatMap((e) => (e.kind === 'message' && !e.isPending ? [`${e.senderName}: ${e.body}`] : []));
/** Notices as a person reads them, with members' current labels. */
export const noticesOf = (m: Pick<TestMember, 'session'>) => {
  const view = m.session.view();
  const labels = new Map(view.members.map((x) => [x.fp, x.label]));
  return view.timeline.flatMap((e) => (e.kind === 'notice' ? [noticeText(e, labels)] : []));
};
