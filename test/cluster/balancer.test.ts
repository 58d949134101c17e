/**
 * Rooms sharded across two real Hush processes behind real HAProxy running
 * deploy/haproxy.cfg, on loopback: a room's members meet on one node, a dead
 * node takes only its own rooms down, and their members rejoin on the other.
 */
import { get } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveRoomKeys, generateIdentity, randomBytes, type Identity } from '../../client/crypto';
import { BEHIND_BALANCER_ENV } from '../../deploy/haproxy-config.mjs';
import { startBalancer, type RunningBalancer } from '../support/balancer';
import { freeFixedPort } from '../support/haproxy.mjs';
import { joinRoom, type NodeMember } from '../support/node-client';
import { startServer, type RunningServer } from '../support/server';
import { TestSocket } from '../support/ws-client';
import { linkDoor, shapedHello, shapedLogsPath, shapedSigner } from '../support/shapes';
import { encodeClientFrame } from '../../client/protocol';

const NODE_COUNT = 2;
const ROOMS_PER_NODE = 2;
const MEMBERS_PER_ROOM = 2;
/** Room ids are random, so rooms are drawn until both nodes hold enough; this bounds the draw. */
const MAX_ROOM_DRAWS = 24;
/** Members of every room, new members for the dead node's rooms, and two newcomers. */
const IDENTITY_COUNT = 2 * ROOMS_PER_NODE * MEMBERS_PER_ROOM + ROOMS_PER_NODE * MEMBERS_PER_ROOM + 2;
/** deploy/haproxy.cfg, frontend hush: open WebSockets per client address. */
const BALANCER_CAP_PER_ADDRESS = 50;
/** deploy/haproxy.cfg, frontend hush: WebSocket requests per client address per minute. */
const BALANCER_SOCKETS_PER_MIN = 60;
/** deploy/haproxy.cfg, frontend hush: HTTP requests of any kind per client address per 10 s. */
const BALANCER_REQUESTS_PER_10S = 100;
/**
 * Client addresses: members join from the first, rooms are drawn from the
 * second, so neither comes near the balancer's rate per address.
 */
const MEMBERS_FROM = '127.0.0.1';
const PROBES_FROM = '127.0.0.2';
const METRICS_TOKEN = 'cluster-test-metrics-token';
const NODE_ENV = { ...BEHIND_BALANCER_ENV, METRICS_TOKEN };
const STATE_CHANGE_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 50;
/** The node the test kills, and the one left. */
const VICTIM = 1;
const SURVIVOR = 0;

interface Person {
  name: string;
  client: NodeMember;
}

interface Room {
  secret: Uint8Array;
  roomId: string;
  /** Index in `nodes` of the node the balancer sent it to. */
  node: number;
  people: Person[];
}

const nodes: RunningServer[] = [];
let balancer: RunningBalancer | undefined;
let identities: Identity[] = [];
const rooms: Room[] = [];
/** Everyone who ever joined, so afterAll can close what is still open. */
const everyone: Person[] = [];

beforeAll(async () => {
  // RSA-3072 keys take most of a second each: make them while the processes start.
  const keysMade = Promise.all(Array.from({ length: IDENTITY_COUNT }, () => generateIdentity()));
  for (let i = 0; i < NODE_COUNT; i++) nodes.push(await startServer({ ...NODE_ENV, PORT: String(await freeFixedPort()) }));
  balancer = await startBalancer(nodes.map((n) => n.port));
  identities = await keysMade;
});

afterAll(async () => {
  for (const person of everyone) person.client.socket.ws.terminate();
  await balancer?.stop();
  await Promise.all(nodes.map((n) => n.stop()));
});

function lb(): RunningBalancer {
  if (balancer === undefined) throw new Error('the balancer did not start');
  return balancer;
}

function node(index: number): RunningServer {
  const found = nodes[index];
  if (found === undefined) throw new Error(`node ${index} did not start`);
  return found;
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + STATE_CHANGE_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${STATE_CHANGE_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

/**
 * The nodes that hold a room, asked directly rather than through the
 * balancer, with a member's signed /logs path (200 there, 404 elsewhere).
 */
async function holders(logsPath: string): Promise<number[]> {
  const held = await Promise.all(nodes.map((n) => fetch(`${n.origin}${logsPath}`).then((r) => r.status === 200, () => false)));
  return held.flatMap((isHeld, i) => (isHeld ? [i] : []));
}

/** A room's signed /logs path, from its first member. */
async function logsPathOf(room: Room): Promise<string> {
  const [first] = room.people;
  if (first === undefined) throw new Error('an empty room has nobody to ask');
  const url = new URL(await first.client.logsUrl());
  return `${url.pathname}${url.search}`;
}

/** A fresh room and the node the balancer sends it to, found with a probe that joins and asks for the log. */
async function drawRoom(): Promise<Room> {
  const secret = randomBytes(32);
  const link = linkDoor(secret);
  const roomId = link.roomId;
  const probe = await TestSocket.open(`${lb().origin.replace('http', 'ws')}/ws/${roomId}`, undefined, PROBES_FROM);
  const signer = shapedSigner();
  const { hello, door, fp } = shapedHello(link, await probe.nonce, signer);
  probe.send(encodeClientFrame({ t: 'hello', hello, door }));
  await probe.next((f) => f.startsWith('{"t":"welcome"'));
  const held = await holders(shapedLogsPath(roomId, fp, signer));
  await probe.close();
  const [node] = held;
  if (node === undefined || held.length !== 1) throw new Error(`room ${roomId} is on nodes [${held.join(', ')}]`);
  return { secret, roomId, node, people: [] };
}

async function join(room: Room, name: string): Promise<Person> {
  const identity = identities.pop();
  if (identity === undefined) throw new Error('IDENTITY_COUNT is too small for this test');
  const person = { name, client: await joinRoom(lb().origin, room.secret, name, identity, MEMBERS_FROM) };
  room.people.push(person);
  everyone.push(person);
  return person;
}

let said = 0;
/** Everyone in the room sees everyone, and a message from the first reaches them all. */
async function expectToTalk(room: Room): Promise<void> {
  const count = room.people.length;
  for (const { client } of room.people) await client.until(() => client.session.view().members.length === count);
  const [sender] = room.people;
  if (sender === undefined) throw new Error('an empty room cannot talk');
  const body = `message ${++said}`;
  await sender.client.session.post(body);
  for (const { client } of room.people) await client.until(() => client.messages().includes(`${sender.name}: ${body}`));
}

const isOpen = (person: Person): boolean => person.client.socket.ws.readyState === WebSocket.OPEN;

/** Opens a socket to a fresh room from one loopback address, as if from one client. */
async function openFrom(localAddress: string): Promise<WebSocket> {
  const { roomId } = await deriveRoomKeys(randomBytes(32));
  const ws = new WebSocket(`${lb().origin.replace('http', 'ws')}/ws/${roomId}`, { localAddress });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** The status of a GET through the balancer from one loopback address, as if from one client. */
function statusFrom(localAddress: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(`${lb().origin}${path}`, { localAddress, agent: false, headers }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
}

describe('two nodes behind HAProxy', () => {
  it('serves the same page from every node through the balancer', async () => {
    const res = await fetch(`${lb().origin}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="app">');
    for (const node of nodes) expect((await fetch(`${node.origin}/`)).headers.get('etag')).toBe(res.headers.get('etag'));
  });

  it('caps open sockets per client address at the balancer, where the address is still known', async () => {
    // Nodes see every client as the balancer's address; 127.0.0.3 and .4 stand for two clients.
    const open: WebSocket[] = [];
    try {
      for (let i = 0; i < BALANCER_CAP_PER_ADDRESS; i++) open.push(await openFrom('127.0.0.3'));
      await expect(openFrom('127.0.0.3')).rejects.toThrow('HTTP 429');
      open.push(await openFrom('127.0.0.4'));
    } finally {
      for (const ws of open) ws.terminate();
    }
  });

  it('holds a client address to 60 socket requests a minute at the balancer, open or not', async () => {
    // One client opening and closing sockets: never more than one open, yet the 61st is refused.
    for (let i = 0; i < BALANCER_SOCKETS_PER_MIN; i++) (await openFrom('127.0.0.5')).terminate();
    await expect(openFrom('127.0.0.5')).rejects.toThrow('HTTP 429');
    (await openFrom('127.0.0.6')).terminate();
  });

  it('holds a client address to 100 HTTP requests per 10 s at the balancer', async () => {
    for (let i = 0; i < BALANCER_REQUESTS_PER_10S; i++) expect(await statusFrom('127.0.0.7', '/favicon.svg')).toBe(200);
    expect(await statusFrom('127.0.0.7', '/favicon.svg')).toBe(429);
    expect(await statusFrom('127.0.0.8', '/favicon.svg')).toBe(200);
  });

  it('does not pass /metrics on, even with the token: it is scraped at each node', async () => {
    const authorization = `Bearer ${METRICS_TOKEN}`;
    expect((await fetch(`${node(SURVIVOR).origin}/metrics`, { headers: { authorization } })).status).toBe(200);
    expect(await statusFrom('127.0.0.9', '/metrics', { authorization })).toBe(404);
  });

  it('puts all members of a room on one node, which also answers its /logs, and relays between them', async () => {
    for (let draws = 0; [SURVIVOR, VICTIM].some((n) => rooms.filter((r) => r.node === n).length < ROOMS_PER_NODE); draws++) {
      if (draws === MAX_ROOM_DRAWS) throw new Error(`${MAX_ROOM_DRAWS} random rooms did not give each node ${ROOMS_PER_NODE}`);
      const room = await drawRoom();
      if (rooms.filter((r) => r.node === room.node).length < ROOMS_PER_NODE) rooms.push(room);
    }
    for (const [r, room] of rooms.entries()) {
      for (let m = 0; m < MEMBERS_PER_ROOM; m++) await join(room, `room ${r} member ${m}`);
      const logsPath = await logsPathOf(room);
      expect(await holders(logsPath)).toEqual([room.node]);
      await expectToTalk(room);
      const direct = await (await fetch(`${node(room.node).origin}${logsPath}`)).json();
      const viaBalancer = await fetch(`${lb().origin}${logsPath}`);
      expect(viaBalancer.status).toBe(200);
      expect(await viaBalancer.json()).toEqual(direct);
    }
  });

  it('when a node dies, only its rooms drop, and their members rejoin with new keys on the other node', async () => {
    const dropped = rooms.filter((r) => r.node === VICTIM);
    const kept = rooms.filter((r) => r.node === SURVIVOR);
    node(VICTIM).process.kill('SIGKILL');

    for (const person of dropped.flatMap((r) => r.people)) {
      await until(`${person.name} sees the connection drop`, () => !isOpen(person));
      // 1006: no close frame, because nobody was left to send one.
      expect((await person.client.socket.closed).code).toBe(1006);
    }
    await until('HAProxy marks the dead node down', async () => (await lb().serversUp()).get(`hush_rooms/n${VICTIM + 1}`) === false);

    for (const room of kept) {
      expect(room.people.every(isOpen)).toBe(true);
      await expectToTalk(room);
    }
    for (const [r, room] of dropped.entries()) {
      const lost = room.people.map((p) => p.client.identity.fp);
      room.people = [];
      for (let m = 0; m < MEMBERS_PER_ROOM; m++) await join(room, `rejoined ${r} member ${m}`);
      for (const person of room.people) expect(lost).not.toContain(person.client.identity.fp);
      expect(await holders(await logsPathOf(room))).toEqual([SURVIVOR]);
      await expectToTalk(room);
    }

    // A newcomer to a room that did not move still finds its members: its hash did not change.
    const [steady] = kept;
    if (steady === undefined) throw new Error('no room on the surviving node');
    await join(steady, 'newcomer');
    expect(await holders(await logsPathOf(steady))).toEqual([SURVIVOR]);
    await expectToTalk(steady);
    expect((await fetch(`${lb().origin}/`)).status).toBe(200);
  });

  it('when the dead node comes back, rooms that moved stay put and only new rooms reach it', async () => {
    nodes[VICTIM] = await startServer({ ...NODE_ENV, PORT: String(node(VICTIM).port) });
    await until('HAProxy marks the node up again', async () => [...(await lb().serversUp()).values()].every(Boolean));

    const [moved] = rooms.filter((r) => r.node === VICTIM);
    if (moved === undefined) throw new Error('no room moved');
    await join(moved, 'late newcomer');
    expect(await holders(await logsPathOf(moved))).toEqual([SURVIVOR]);
    await expectToTalk(moved);

    let draws = 0;
    while ((await drawRoom()).node !== VICTIM) {
      if (++draws === MAX_ROOM_DRAWS) throw new Error(`${MAX_ROOM_DRAWS} new rooms and none reached the node that came back`);
    }
  });
});
