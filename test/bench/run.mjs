// `npm run bench` (node build.mjs && node test/bench/run.mjs): Hush against
// the bare uWS relay and Socket.IO in one run, then Hush behind HAProxy (one
// and several processes), then the client in headless Chromium. Prints a
// table and writes test/bench/results.md.
//
// Every figure is reported, none is asserted. Knobs (environment, for a
// quicker or a longer run): BENCH_ROOMS, BENCH_MEMBERS, BENCH_RATE,
// BENCH_MEASURE_S, BENCH_SAT_MEASURE_S, BENCH_IDLE_CONNS, BENCH_RUNS,
// BENCH_MESSAGES, BENCH_PROFILE_S (0: no profile), BENCH_QUIET_WAIT_S, BENCH_CLIENT=0 (server
// part only), BENCH_CLUSTER=0 (no HAProxy part), BENCH_NODES (Hush processes behind
// HAProxy, default 2), BENCH_CLUSTER_RUNS (default 3), BENCH_HUSH_JS (another server build), CHROMIUM_PATH, HAPROXY_PATH,
// BENCH_ENGINES=0 (no per-engine part), BENCH_ENGINE_RUNS (default 5), BENCH_ONLY=engines (only the per-engine
// part: its section of results.md is replaced, the rest kept), FIREFOX_PATH, WEBKIT_DRIVER_PATH, XVFB_PATH,
// BENCH_FILES=0 (no files part), BENCH_ONLY=files (only the files part, test/bench/files.mjs, its section
// replaced likewise), BENCH_FILE_MIB (default 100), BENCH_BROWSER_FILE_MIB (the file sent between two Chromium pages, default 32),
// BENCH_FILES_BROWSER=0 (files part without the Chromium pages).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCore } from './core.mjs';
import { makeIdentities } from './fixtures.mjs';
import { startInterferenceMonitor, waitMachineQuiet } from './proc.mjs';
import { IDLE_KINDS, KINDS, LABEL, makeServerFixtures, runServerBench } from './server-bench.mjs';
import { chromiumVersion, runClientBench } from './client.mjs';
import { FILES_TITLE, filesTable, runFilesBench } from './files.mjs';
import { CLUSTER_SETUPS, SOURCE_ADDRESSES, haproxyVersion, runClusterBench } from './cluster-bench.mjs';
import { hasTaskset, killAll, pinSelf } from './servers.mjs';
import { runEnginesBench } from './engines.mjs';

const num = (name, fallback) => {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? fallback : Number(raw);
};

const P = {
  rooms: num('BENCH_ROOMS', 20),
  members: num('BENCH_MEMBERS', 10),
  /** Real envelopes per member; the fixed-rate phase sends each at most once. */
  perSender: 0,
  idleConns: num('BENCH_IDLE_CONNS', 10_000),
  /** Messages per second in all, at the fixed rate. */
  rate: num('BENCH_RATE', 400),
  warmupS: 3,
  measureS: num('BENCH_MEASURE_S', 10),
  drainS: 5,
  /** Messages in flight per member at saturation. */
  window: 2,
  satWarmupS: 3,
  satMeasureS: num('BENCH_SAT_MEASURE_S', 6),
  /** Rounds of the server part: every server's fixed-rate and saturation phases once per round; the median round is reported. */
  rounds: num('BENCH_SERVER_ROUNDS', 3),
  settleS: 10,
  profileS: num('BENCH_PROFILE_S', 8),
  /** Before each measured phase, wait at most this long for the rest of the machine to be quiet. */
  quietWaitS: num('BENCH_QUIET_WAIT_S', 15),
  /** Hush processes behind HAProxy in the cluster part. */
  nodes: num('BENCH_NODES', 2),
  /** Seconds measured at saturation in each cluster run. */
  clusterMeasureS: num('BENCH_CLUSTER_MEASURE_S', 10),
  /** Runs of each cluster setup, interleaved; the median is reported. */
  clusterRuns: num('BENCH_CLUSTER_RUNS', 3),
};
P.perSender = Math.ceil(((P.rate / (P.rooms * P.members)) * (P.warmupS + P.measureS)) * 1.1) + 2;
const CLIENT = { runs: num('BENCH_RUNS', 10), messages: num('BENCH_MESSAGES', 20), warmup: 3, roomSizes: [2, 10, 50] };
const ENGINE_RUNS = num('BENCH_ENGINE_RUNS', 5);
const PATH_KNOBS = ['CHROMIUM_PATH', 'HAPROXY_PATH', 'FIREFOX_PATH', 'WEBKIT_DRIVER_PATH', 'XVFB_PATH'];
const KNOBS = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') || PATH_KNOBS.includes(k)).map(([k, v]) => `${k}=${v} `).join('');
const COMMAND = `${KNOBS}npm run bench` + '  (= node build.mjs && node test/bench/run.mjs)';
const RESULTS = fileURLToPath(new URL('./results.md', import.meta.url));

const log = (line) => console.log(line);
const f0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const thousands = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const ratio = (x, base) => (Number.isFinite(x / base) ? `${(x / base).toFixed(2)}×` : '–');
const pctOf = (x) => `${(x * 100).toFixed(0)} %`;
const MiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
/** The median's value and, in brackets, the lowest and highest of the rounds. */
const withSpread = (r) => (r.cpuRounds.length > 1 ? `${f2(r.serverCpuUsPerDelivery)} (${f2(Math.min(...r.cpuRounds))}–${f2(Math.max(...r.cpuRounds))})` : f2(r.serverCpuUsPerDelivery));
const table = (head, rows) => [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function serverTables(s, fx) {
  const a = s.results.bare;
  const a2 = s.results.bareNew;
  const fixedRows = KINDS.map((k) => {
    const r = s.results[k].fixed;
    return [LABEL[k], withSpread(r), ratio(r.serverCpuUsPerDelivery, a.fixed.serverCpuUsPerDelivery), ratio(r.serverCpuUsPerDelivery, a2.fixed.serverCpuUsPerDelivery), `${f1(r.serverUserUsPerDelivery)} + ${f1(r.serverCpuUsPerDelivery - r.serverUserUsPerDelivery)}`, pctOf(r.serverBusy), thousands(r.deliveriesPerS),
      f2(r.latencyMs.p50), f2(r.latencyMs.p99), ratio(r.latencyMs.p99, a.fixed.latencyMs.p99), `${r.lost} of ${thousands(r.expected)}`, pctOf(Math.max(0, r.otherBusy))];
  });
  const satRows = KINDS.map((k) => {
    const r = s.results[k].saturation;
    const bound = r.serverBusy >= 0.9 ? 'server' : r.loadBusy >= 0.9 ? 'load generator' : 'neither at 90 %';
    return [LABEL[k], thousands(r.deliveriesPerS), ratio(r.deliveriesPerS, a.saturation.deliveriesPerS), withSpread(r), ratio(r.serverCpuUsPerDelivery, a.saturation.serverCpuUsPerDelivery), ratio(r.serverCpuUsPerDelivery, a2.saturation.serverCpuUsPerDelivery),
      pctOf(r.serverBusy), pctOf(r.loadBusy), bound, f1(r.latencyMs.p50), f1(r.latencyMs.p99), `${r.lost} of ${thousands(r.expected)}`, pctOf(Math.max(0, r.otherBusy))];
  });
  const memRows = IDLE_KINDS.map((k) => {
    const r = s.results[k];
    return [LABEL[k], thousands(r.idle.connections), MiB(r.idle.rssBefore), MiB(r.idle.rssAfter), thousands(r.idle.bytesPerConn), ratio(r.idle.bytesPerConn, a.idle.bytesPerConn), MiB(r.peakRss)];
  });
  return [
    `Workload: ${P.rooms} rooms × ${P.members} members = ${P.rooms * P.members} connections. Every message is a real Hush message for a ${P.members}-member room, sealed by the client core,`,
    `relayed to all ${P.members} members, the sender included: ${P.members} deliveries per message. Hush is sent the upload (envelope and every wrap, ${thousands(fx.frameBytes.upload.min)}–${thousands(fx.frameBytes.upload.max)} bytes)`,
    `and sends each member the envelope with its own wrap (${thousands(fx.frameBytes.delivery.min)}–${thousands(fx.frameBytes.delivery.max)} bytes). The bare relay publishes what it is sent to the whole room: in (a) the`,
    `message as one frame with every wrap inside the envelope, as Hush sent every member before (${thousands(fx.frameBytes.full.min)}–${thousands(fx.frameBytes.full.max)} bytes); in (a′) the frame Hush now delivers to one member.`,
    `Socket.IO carries (a)'s JSON as its event argument. Servers on core 1, load generator on core 0${hasTaskset ? ' (taskset)' : ' (not pinned: taskset missing)'}.`,
    `CPU is the server process's own utime + stime (/proc/<pid>/stat) over the measured window, divided by the deliveries received in it.`,
    `"Other CPU" is what the rest of the machine used meanwhile (in cores): a sign of interference.`,
    `Every server runs ${P.rounds} rounds, one after another (round 1: (a), (a′), (b), (c); then again): each row is the round whose CPU per delivery is the median`,
    `(all of that row's figures from that round), with the lowest and highest round in brackets; "lost" is summed over all rounds. Ratios are of the medians.`,
    '',
    `### At a fixed offered rate: ${P.rate} messages/s (${thousands(P.rate * P.members)} deliveries/s), open loop, ${P.measureS} s measured after ${P.warmupS} s`,
    '',
    table(['server', 'CPU µs / delivery', '× (a)', '× (a′)', 'of which user + system', 'server core busy', 'deliveries/s', 'p50 ms', 'p99 ms', 'p99 × (a)', 'lost', 'other CPU'], fixedRows),
    '',
    `### At saturation: closed loop, ${P.window} messages in flight per member, ${P.satMeasureS} s measured after ${P.satWarmupS} s`,
    '',
    table(['server', 'deliveries/s', '× (a)', 'CPU µs / delivery', '× (a)', '× (a′)', 'server core', 'load gen. core', 'bound by', 'p50 ms', 'p99 ms', 'lost', 'other CPU'], satRows),
    '',
    'Where the load generator\'s core is the bottleneck, the server could go faster than shown (its CPU per delivery is still its own). Latency at saturation is queueing: members × window messages in flight.',
    '',
    `### Memory: ${thousands(P.idleConns)} idle connections (rooms of ${P.members}; Hush members joined with a real hello), RSS ${P.settleS} s after the server went quiet`,
    '',
    table(['server', 'idle connections', 'RSS before', `RSS with them`, 'bytes / idle connection', '× (a)', 'peak RSS (whole run)'], memRows),
  ].join('\n');
}

function clusterTable(cl, server) {
  const base = cl.direct.saturation.deliveriesPerS;
  const cores = (x) => x.toFixed(2);
  const setups = CLUSTER_SETUPS(P.nodes);
  const rows = setups.map(({ key, label }) => {
    const r = cl[key];
    const s = r.saturation;
    const total = s.serverBusy + s.balancerBusy + s.loadBusy + Math.max(0, s.otherBusy);
    const all = r.runs.map((x) => x.saturation.deliveriesPerS);
    return [label, `${thousands(s.deliveriesPerS)} (${thousands(Math.min(...all))}–${thousands(Math.max(...all))})`, ratio(s.deliveriesPerS, base), s.serverBusyEach.map(cores).join(' + '), r.balanced ? cores(s.balancerBusy) : '–', cores(s.loadBusy), cores(total),
      `${f2(s.serverCpuUsPerDelivery)} / ${r.balanced ? f2(s.balancerCpuUsPerDelivery) : '–'} / ${f2(s.loadCpuUsPerDelivery)}`, r.rooms.join(' / '), `${f1(s.latencyMs.p50)} / ${f1(s.latencyMs.p99)}`, `${s.lost} of ${thousands(s.expected)}`];
  });
  const many = cl.many.saturation.deliveriesPerS;
  return [
    `The saturation workload above (${P.rooms} rooms × ${P.members} members, ${P.window} messages in flight per member, ${P.clusterMeasureS} s measured after ${P.satWarmupS} s) through HAProxy ${haproxyVersion()}`,
    `running deploy/haproxy.cfg as \`npm run cluster\` renders it (rooms hashed by id; the nodes with its BEHIND_BALANCER_ENV). Nothing is pinned: the Hush processes, HAProxy and the`,
    `load generator share the machine's ${os.cpus().length} cores, as they would under \`npm run cluster\`. The load generator connects from ${SOURCE_ADDRESSES.length} loopback addresses (${Math.ceil((P.rooms * P.members) / SOURCE_ADDRESSES.length)} sockets each), so the`,
    `config's 50-per-address cap applies unchanged. Each setup ran ${P.clusterRuns} times, interleaved with the others; shown: the run with the median deliveries/s`,
    `(all runs' range in brackets). CPU in cores busy over that run's measured window (1.00 = one core).`,
    '',
    table(['setup', 'deliveries/s, median (range)', '× one process (median)', 'Hush cores (per process)', 'HAProxy cores', 'load gen. cores', 'machine cores busy', 'CPU µs / delivery: Hush / HAProxy / load gen.', 'rooms per process', 'p50 / p99 ms', 'lost'], rows),
    '',
    `**${P.nodes} processes behind HAProxy vs one process: ${thousands(many)} vs ${thousands(base)} deliveries/s = ${ratio(many, base)}** (vs one process behind HAProxy: ${ratio(many, cl.one.saturation.deliveriesPerS)}; vs (c) above, one process pinned to its own core with the load generator on the other: ${ratio(many, server.results.hush.saturation.deliveriesPerS)}).`,
  ].join('\n');
}

function targets(s, c) {
  const a = s.results.bare;
  const a2 = s.results.bareNew;
  const h = s.results.hush;
  const io = s.results.socketio;
  const room10 = c?.rooms.find((r) => r.n === 10);
  const room50 = c?.rooms.find((r) => r.n === 50);
  const cpu = (x) => x.serverCpuUsPerDelivery;
  const rows = [
    ['server CPU per delivery ≤ 1.0× the bare relay carrying the one frame with every wrap (a), fixed rate and saturation', `${ratio(cpu(h.fixed), cpu(a.fixed))} (fixed rate), ${ratio(cpu(h.saturation), cpu(a.saturation))} (saturation)`, cpu(h.fixed) <= cpu(a.fixed) && cpu(h.saturation) <= cpu(a.saturation)],
    ['(reported) server CPU per delivery vs the bare relay carrying Hush’s new frames (a′)', `${ratio(cpu(h.fixed), cpu(a2.fixed))} (fixed rate), ${ratio(cpu(h.saturation), cpu(a2.saturation))} (saturation)`, cpu(h.fixed) <= cpu(a2.fixed) && cpu(h.saturation) <= cpu(a2.saturation)],
    ['server CPU per delivery ≥ 5× better than Socket.IO', `Socket.IO / Hush = ${ratio(io.fixed.serverCpuUsPerDelivery, h.fixed.serverCpuUsPerDelivery)} (fixed rate), ${ratio(io.saturation.serverCpuUsPerDelivery, h.saturation.serverCpuUsPerDelivery)} (saturation)`, io.fixed.serverCpuUsPerDelivery >= 5 * h.fixed.serverCpuUsPerDelivery],
    ['RSS per idle joined member ≤ 2.5× bare relay', `${ratio(h.idle.bytesPerConn, a.idle.bytesPerConn)} (${thousands(h.idle.bytesPerConn)} vs ${thousands(a.idle.bytesPerConn)} bytes)`, h.idle.bytesPerConn <= 2.5 * a.idle.bytesPerConn],
    ['zero loss below saturation', `${h.fixed.lost} lost of ${thousands(h.fixed.expected)}`, h.fixed.lost === 0],
    ['p99 ≤ 2× bare relay (fixed rate)', `${f2(h.fixed.latencyMs.p99)} ms vs ${f2(a.fixed.latencyMs.p99)} ms = ${ratio(h.fixed.latencyMs.p99, a.fixed.latencyMs.p99)}`, h.fixed.latencyMs.p99 <= 2 * a.fixed.latencyMs.p99],
  ];
  if (c) {
    rows.push(['join ≤ 300 ms median (page load → in the room)', `${f0(c.joins.coldSinceLoad.median)} ms`, c.joins.coldSinceLoad.median <= 300]);
    if (room10) rows.push(['10-member room: visible in the other tab ≤ 20 ms median', `${f1(room10.endToEnd.median)} ms`, room10.endToEnd.median <= 20]);
    if (room10) rows.push(['10-member room: frame arrives → message shown ≤ 5 ms median', `${f1(room10.receive.median)} ms (of it, one RSA-OAEP-3072 unwrap alone takes ${f2(room10.unwrapMs)} ms in the same tab)`, room10.receive.median <= 5]);
    if (room10) rows.push(['100-character message, 10-member room: ≤ 2.5 KB per member, as the browser receives it', `${thousands(room10.bytes.received)} B`, room10.bytes.received <= 2500]);
    if (room50) rows.push(['100-character message, 50-member room: ≤ 6 KB per member, as the browser receives it', `${thousands(room50.bytes.received)} B`, room50.bytes.received <= 6000]);
  }
  return table(['target (reported, not asserted)', 'measured', 'met'], rows.map(([t, m, ok]) => [t, m, ok ? 'yes' : '**no**']));
}

function profileTable(p) {
  if (p === null) return '(not profiled)';
  const rows = p.self.map((s, i) => [String(i + 1), `\`${s.key}\``, pctOf(s.share), p.inclusive[i] ? `\`${p.inclusive[i].key}\`` : '', p.inclusive[i] ? pctOf(p.inclusive[i].share) : '']);
  return [
    `Hush under \`node --cpu-prof\` at saturation (${thousands(p.deliveriesPerS)} deliveries/s while profiled; ${thousands(p.busy)} busy samples at 200 µs). Shares of the busy samples:`,
    '',
    table(['#', 'self time: function (dist/server.js line)', 'self', 'inclusive: function', 'inclusive'], rows),
  ].join('\n');
}

function clientTable(c) {
  const j = c.joins;
  const ms = (s) => `${f0(s.median)} ms`;
  const spread = (s) => `min ${f0(s.min)}, max ${f0(s.max)}`;
  const rows = [
    ['Page load → in the room (Join pressed as soon as the page is usable; includes RSA-3072 keygen), median', ms(j.coldSinceLoad), spread(j.coldSinceLoad)],
    ['… of which page load → Join pressed (navigation, bundle, the name typed by Playwright)', ms(j.coldBeforeClick), spread(j.coldBeforeClick)],
    ['… and Join → in the room (waits for the keys made at page load)', ms(j.coldClick), spread(j.coldClick)],
    ['Join → in the room, keys made while typing (1.5 s), median', ms(j.warmClick), spread(j.warmClick)],
    ['Join → own safety code shown (keys made while typing), median', ms(j.warmCode), spread(j.warmCode)],
    ['One safety code computed in the page (5200 × SHA-512, crypto.subtle), median', ms(j.oneCode), spread(j.oneCode)],
    ['Bundle app.js raw / gzip', `${thousands(c.bundle.js)} B / ${thousands(c.bundle.jsGzip)} B`, ''],
    ['Stylesheet app.css raw / gzip', `${thousands(c.bundle.css)} B / ${thousands(c.bundle.cssGzip)} B`, ''],
  ];
  const per = c.rooms.map((r) => [String(r.n), `${f1(r.seal.median)} (${f1(r.seal.p90)})`, `${f1(r.echo.median)} (${f1(r.echo.p90)})`, `${f1(r.receive.median)} (${f1(r.receive.p90)})`, f2(r.unwrapMs), `${f1(r.endToEnd.median)} (${f1(r.endToEnd.p90)})`]);
  const bytes = c.rooms.map((r) => [String(r.n), thousands(r.bytes.received), thousands(r.bytes.upload), thousands(r.n * r.bytes.received), thousands(r.bytes.full), thousands(r.n * r.bytes.full)]);
  return [
    table(['measure', 'value', 'spread'], rows),
    '',
    `Per message, two tabs in one room (the other members are Node clients of the client core); ${c.messages} messages after ${CLIENT.warmup} unmeasured ones; median (p90), ms:`,
    '',
    table(['members', 'sender: Send → frame on the wire (sealing)', 'sender: Send → own echo shown', 'receiver: frame arrives → shown', 'receiver: one RSA-OAEP-3072 unwrap alone (median of 20, same tab, after the messages)', 'Send → shown in the other tab'], per),
    '',
    `Bytes per message in the same rooms, a 100-character message: what the receiving tab's WebSocket got (the frame's length; it is ASCII), what the sending tab sent, and the room's`,
    `egress per message (members × the frame each gets: every member is a recipient and every wrap is 512 characters, so every member's frame is the same size). For comparison,`,
    `the same message as one frame with every wrap inside the envelope (the format before per-member delivery), sealed by the client core for the same number of members:`,
    '',
    table(['members', 'bytes per delivery (received in Chromium)', 'upload (sent by the tab)', 'room egress per message', 'before: one frame with every wrap', 'before: room egress per message'], bytes),
  ].join('\n');
}

const ENGINES_TITLE = '## Browser engines: key generation and join';

function enginesSection(rows, note) {
  const ms = (x) => `${f0(x.median)} ms (${f0(x.min)}–${f0(x.max)})`;
  return [
    ENGINES_TITLE,
    '',
    `${note}Each engine through test/engines/driver.ts (Chromium: Playwright; Firefox ESR: WebDriver BiDi; WebKitGTK: MiniBrowser, classic WebDriver, Xvfb), a fresh tab on a fresh room per run,`,
    `${ENGINE_RUNS} runs after one unmeasured; median (min–max), timed in the page. Keygen: the client's identity (RSA-OAEP 3072 + ECDSA P-256) with crypto.subtle.`,
    'Join: pressed as soon as the page is usable and the name typed by the driver (typing speed differs per driver), until the own safety code shows.',
    '',
    table(['engine', 'keygen', 'Join → own safety code', 'navigation start → own safety code'], rows.map((r) => [r.version, ms(r.keygen), ms(r.joinClick), ms(r.joinSinceLoad)])),
  ].join('\n');
}

/** Replaces one `## ` section of results.md (or appends it), keeping the others. */
function writeSection(title, body) {
  const old = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Hush benchmark\n';
  const start = old.indexOf(`${title}\n`);
  const end = start === -1 ? -1 : old.indexOf('\n## ', start + title.length);
  const md = start === -1 ? `${old.trimEnd()}\n\n${body}\n` : `${old.slice(0, start)}${body}\n${end === -1 ? '' : old.slice(end)}`;
  writeFileSync(RESULTS, md);
}

async function enginesOnly() {
  const started = Date.now();
  log('per-engine benchmark (BENCH_ONLY=engines):');
  const rows = await runEnginesBench({ runs: ENGINE_RUNS, quietWaitS: P.quietWaitS, log });
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}) · Node ${process.version}`;
  const body = enginesSection(rows, `${new Date().toISOString()} · ${machine} · \`${COMMAND}\` · took ${minutes} min (run alone, after the rest of this file).\n`);
  writeSection(ENGINES_TITLE, body);
  log(`\n${body}\nwritten to test/bench/results.md (section "${ENGINES_TITLE.slice(3)}")`);
}

async function filesOnly() {
  const started = Date.now();
  log('files benchmark (BENCH_ONLY=files):');
  const results = await runFilesBench(log);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  const body = `${FILES_TITLE}\n\n${new Date().toISOString()} · Node ${process.version} · \`${COMMAND}\` · took ${minutes} min (run alone).\n\n${filesTable(results)}\n`;
  writeSection(FILES_TITLE, body);
  log(`\n${body}\nwritten to test/bench/results.md (section "${FILES_TITLE.slice(3)}")`);
}

function interferenceLine(phases) {
  const names = { fixtures: 'fixtures', bare: '(a)', bareNew: '(a′)', socketio: '(b)', hush: '(c)', profile: 'profile', 'cluster-direct': 'one process', 'cluster-one': 'one behind HAProxy', 'cluster-many': 'several behind HAProxy', client: 'client', engines: 'engines', files: 'files' };
  const parts = Object.entries(phases).filter(([k]) => k in names).map(([k, v]) => `${names[k]} ${v.meanCores.toFixed(2)} (max ${v.maxCores.toFixed(2)})`);
  const steal = Object.entries(phases).filter(([k]) => k in names).map(([k, v]) => `${names[k]} ${(v.stealCores ?? 0).toFixed(2)}`);
  return `Other processes on the machine (not this benchmark), mean cores busy per phase: ${parts.join(' · ')}. Above ~0.1 the figures are disturbed.\n\n` +
    `Steal time (the host running other virtual machines on our cores), mean cores per phase: ${steal.join(' · ')}. The host's other work can also slow us without steal (shared caches and memory).`;
}

async function main() {
  const started = Date.now();
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${MiB(os.totalmem())} RAM, Linux ${os.release()} · Node ${process.version} · ${chromiumVersion()}`;
  log(`Hush benchmark · ${machine}`);
  const quietBefore = await waitMachineQuiet({ maxMs: 30_000 });
  log(`machine busy before start: ${quietBefore.toFixed(2)} cores (load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`);

  const monitor = startInterferenceMonitor();
  monitor.phase('fixtures');
  const core = await loadCore();
  const identityCount = Math.max(P.members, Math.max(...CLIENT.roomSizes) - 2);
  let t = performance.now();
  const identities = await makeIdentities(core, identityCount);
  log(`${identityCount} identities (RSA-3072 + P-256) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const dir = mkdtempSync(join(os.tmpdir(), 'hush-bench-'));
  let server;
  let client = null;
  let cluster = null;
  try {
    const fx = await makeServerFixtures(core, identities, P, log);
    const fixturesPath = join(dir, 'fixtures.json');
    writeFileSync(fixturesPath, JSON.stringify(fx));
    log('server benchmark:');
    pinSelf('0');
    t = performance.now();
    server = await runServerBench(fixturesPath, P, log, (kind) => monitor.phase(kind));
    log(`  (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    pinSelf(`0-${os.cpus().length - 1}`);
    if (process.env.BENCH_CLUSTER !== '0') {
      log(`across processes (HAProxy in front; nothing pinned):`);
      t = performance.now();
      cluster = await runClusterBench(fixturesPath, P, log, (key) => monitor.phase(key));
      log(`  (${((performance.now() - t) / 1000).toFixed(0)} s)`);
    }
    if (process.env.BENCH_CLIENT !== '0') {
      log('client benchmark (headless Chromium):');
      monitor.phase('client');
      client = await runClientBench({ core, identities, quietWaitS: P.quietWaitS, runs: CLIENT.runs, roomSizes: CLIENT.roomSizes, messages: CLIENT.messages, warmup: CLIENT.warmup, log });
    }
    let engines = null;
    if (process.env.BENCH_ENGINES !== '0') {
      log('per-engine benchmark (Chromium, Firefox ESR, WebKitGTK):');
      monitor.phase('engines');
      engines = await runEnginesBench({ runs: ENGINE_RUNS, quietWaitS: P.quietWaitS, log });
    }
    let files = null;
    if (process.env.BENCH_FILES !== '0') {
      monitor.phase('files');
      files = await runFilesBench(log);
    }
    const interference = monitor.stop();

    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    const md = [
      '# Hush benchmark',
      '',
      `${new Date().toISOString()} · ${machine}`,
      '',
      `Command: \`${COMMAND}\` · took ${minutes} min · machine busy before start: ${quietBefore.toFixed(2)} cores`,
      '',
      interferenceLine(interference),
      '',
      '## Server: (a) bare uWS relay, (b) Socket.IO, (c) Hush — same workload',
      '',
      serverTables(server, fx),
      '',
      '## Across processes: HAProxy in front of Hush',
      '',
      cluster === null ? '(skipped: BENCH_CLUSTER=0)' : clusterTable(cluster, server),
      '',
      '## Targets',
      '',
      targets(server, client),
      '',
      '## Where Hush\'s server time goes',
      '',
      profileTable(server.profile),
      '',
      '## Client (headless Chromium)',
      '',
      client === null ? '(skipped: BENCH_CLIENT=0)' : clientTable(client),
      '',
      engines === null ? `${ENGINES_TITLE}\n\n(skipped: BENCH_ENGINES=0)` : enginesSection(engines, ''),
      '',
      FILES_TITLE,
      '',
      files === null ? '(skipped: BENCH_FILES=0)' : filesTable(files),
      '',
    ].join('\n');
    writeFileSync(RESULTS, md);
    log(`\n${md}`);
    log(`written to test/bench/results.md`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TOTAL_TIMEOUT_MS = 20 * 60_000;
const watchdog = setTimeout(() => { console.error('bench: took longer than 20 minutes; stopping'); killAll(); process.exit(1); }, TOTAL_TIMEOUT_MS);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => { killAll(); process.exit(130); });

if (process.env.BENCH_ONLY !== undefined && process.env.BENCH_ONLY !== 'engines' && process.env.BENCH_ONLY !== 'files') {
  console.error(`bench: BENCH_ONLY=${process.env.BENCH_ONLY} is not a part; the parts that run alone are "engines" and "files"`);
  process.exit(2);
}
(process.env.BENCH_ONLY === 'engines' ? enginesOnly() : process.env.BENCH_ONLY === 'files' ? filesOnly() : main()).then(
  () => { killAll(); process.exit(0); },
  (err) => { console.error(err); killAll(); process.exit(1); },
);
