// Bounded load scenarios for issue 13 items 3 and 5, against an rtspkit server in its own process (auth on,
// API on, logs at info), every attacker socket from 127.0.0.2 to 127.0.0.1 and every honest one from
// 127.0.0.1 (so the per-address share shows):
//   A. one connection pipelines DESCRIBEs (answered 401) and never reads;
//   B. the amplified form: DESCRIBEs of a path announced with a 900 KB SDP, never read;
//   C. idle connections of every kind: HTTP-tunnel GETs without a POST, TLS connections that never
//      handshake, silent RTSP connections, silent HTTP API connections;
// then whether a fresh client (RTSP, RTSPS, tunnel, API, /metrics) is answered, and what the timeouts
// closed. Prints RSS and heap (from /metrics), log lines and bytes written, counters.
//
//   npm run build && node dist/bench/attack-connections.js [--describes 300000] [--seconds 20]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TEST_SDP } from '../test/support/fake-publisher.js';
// `rtspkit serve` re-executes itself without these (cli/node-flags.ts): given here, the PID measured is the server's.
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';

const { values: args } = parseArgs({
  options: {
    describes: { type: 'string', default: '300000' },
    seconds: { type: 'string', default: '20' },
    idle: { type: 'string', default: '100' },
  },
});
const DESCRIBES = Number(args.describes);
const PHASE_S = Number(args.seconds);
const IDLE_EACH = Number(args.idle);
const ATTACKER = '127.0.0.2';
const HOST = '127.0.0.1';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const dir = mkdtempSync(join(tmpdir(), 'rtspkit-attack-'));
const configPath = join(dir, 'rtspkit.yml');
writeFileSync(
  configPath,
  `logLevel: info
rtspAddress: '${HOST}:0'
rtspsAddress: '${HOST}:0'
rtpPort: null
rtmpAddress: null
multicastRange: null
api: true
apiAddress: '${HOST}:0'
maxConnections: 400
requestTimeout: 5
idleTimeout: 10
tunnelPairingTimeout: 5
tlsHandshakeTimeout: 5
apiIdleTimeout: 5
auth:
  users:
    - name: admin
      password: 'plain:secret'
  anonymous:
    permissions: [{ action: read, path: big }, { action: api }]
`,
);

// ---- the server process ----
const server = spawn(
  process.execPath,
  [...SERVE_NODE_FLAGS, 'dist/src/cli/main.js', 'serve', '--config', configPath, '--tls-self-signed'],
  {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...SERVE_NODE_ENV },
  },
);
let logLines = 0;
let logBytes = 0;
let ports: { rtsp?: number; rtsps?: number; api?: number } = {};
let partial = '';
server.stdout.on('data', (chunk: Buffer) => {
  logBytes += chunk.length;
  const text = partial + chunk.toString();
  const lines = text.split('\n');
  partial = lines.pop() ?? '';
  logLines += lines.length;
  for (const line of lines) {
    if (line.includes('"rtsp server listening"')) {
      const j = JSON.parse(line) as { port: number; rtspsPort: number };
      ports = { ...ports, rtsp: j.port, rtsps: j.rtspsPort };
    } else if (line.includes('"http api listening"')) {
      ports = { ...ports, api: (JSON.parse(line) as { port: number }).port };
    }
  }
});
server.stderr.on('data', (d: Buffer) => process.stderr.write(d));

function rssBytes(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

function connect(port: number, localAddress: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: HOST, localAddress });
    const t = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, 3000);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(undefined);
    });
  });
}

/** Sends `text` and collects the answer until `done(answer)` or `timeoutMs`; '' when nothing came. */
async function ask(
  socket: net.Socket | tls.TLSSocket | undefined,
  text: string,
  done: (answer: string) => boolean,
  timeoutMs = 3000,
): Promise<string> {
  if (socket === undefined) return '';
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(text);
  const deadline = Date.now() + timeoutMs;
  while (!done(answer) && !socket.destroyed && Date.now() < deadline) await sleep(20);
  socket.destroy();
  return answer;
}

const metrics = async (): Promise<string> => {
  const s = await connect(ports.api!, HOST);
  return ask(s, `GET /metrics HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`, () => false, 3000);
};

function metric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').pop());
  return sum;
}

async function heapUsed(): Promise<string> {
  const m = await metrics();
  return m === '' ? 'API not answering' : mb(metric(m, 'nodejs_heap_size_used_bytes'));
}

/** A fresh honest client of every kind: which ones are answered. */
async function freshClients(): Promise<Record<string, boolean>> {
  const options = 'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n';
  const rtsp = await ask(await connect(ports.rtsp!, HOST), options, (a) => a.includes('\r\n\r\n'));
  const tlsSocket = tls.connect({ host: HOST, port: ports.rtsps!, rejectUnauthorized: false });
  await new Promise<void>((r) => {
    tlsSocket.once('secureConnect', () => r());
    tlsSocket.once('error', () => r());
    setTimeout(r, 3000);
  });
  const rtsps = await ask(tlsSocket, options, (a) => a.includes('\r\n\r\n'));
  const get = await connect(ports.rtsp!, HOST);
  const getAnswer = ask(
    get,
    'GET /t HTTP/1.0\r\nx-sessioncookie: fresh\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n',
    (a) => a.includes('RTSP/1.0 200'),
  );
  await sleep(100);
  const post = await connect(ports.rtsp!, HOST);
  post?.on('error', () => undefined);
  post?.write(
    `POST /t HTTP/1.0\r\nx-sessioncookie: fresh\r\nContent-Length: 32767\r\n\r\n${Buffer.from(options).toString('base64')}`,
  );
  const tunnel = await getAnswer;
  post?.destroy();
  const api = await ask(
    await connect(ports.api!, HOST),
    `GET /v1/paths HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`,
    (a) => a.includes('\r\n\r\n'),
  );
  return {
    rtsp: rtsp.startsWith('RTSP/1.0 200'),
    rtsps: rtsps.startsWith('RTSP/1.0 200'),
    tunnel: tunnel.includes('RTSP/1.0 200'),
    api: api.startsWith('HTTP/1.1 200'),
    metrics: (await metrics()).includes('rtspkit_connections'),
  };
}

/** Waits (15 s at most, never reading the attacker's socket) for the server to have closed `n` connections for unread replies. */
async function closedForBacklog(n: number): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (metric(await metrics(), 'rtspkit_connections_closed_total{reason="reply_backlog"}') >= n) return true;
    await sleep(500);
  }
  return false;
}

/** Writes pipelined requests without reading until the server stops taking them (or the count or time is reached). */
async function flood(socket: net.Socket, request: (i: number) => string, count: number): Promise<number> {
  socket.pause();
  let written = 0;
  const deadline = Date.now() + PHASE_S * 1000;
  while (written < count && Date.now() < deadline && !socket.destroyed) {
    let batch = '';
    const n = Math.min(1000, count - written);
    for (let i = 0; i < n; i++) batch += request(written + i);
    written += n;
    if (!socket.write(batch)) {
      const drained = await Promise.race([
        new Promise<boolean>((r) => socket.once('drain', () => r(true))),
        sleep(2000).then(() => false),
      ]);
      if (!drained) break; // the server has stopped reading this connection
    }
  }
  return written;
}

async function main(): Promise<void> {
  for (let i = 0; i < 100 && (ports.rtsp === undefined || ports.api === undefined); i++) await sleep(100);
  if (ports.rtsp === undefined || ports.api === undefined) throw new Error('the server did not start');
  await sleep(500);
  const rss0 = rssBytes();
  console.log(`server pid ${server.pid}: RSS ${mb(rss0)}, heap ${await heapUsed()}, ${logLines} log lines`);

  // ---- A: DESCRIBEs answered 401, never read ----
  const linesA = logLines;
  const a = await connect(ports.rtsp, ATTACKER);
  a!.on('error', () => undefined);
  const writtenA = await flood(
    a!,
    (i) => `DESCRIBE rtsp://${HOST}/cam RTSP/1.0\r\nCSeq: ${i + 1}\r\n\r\n`,
    DESCRIBES,
  );
  const rssA = rssBytes();
  console.log(
    `A. ${writtenA} DESCRIBEs written before the server stopped reading (${DESCRIBES} max): RSS ${mb(rss0)} -> ${mb(rssA)}, heap ${await heapUsed()}, ${logLines - linesA} log lines`,
  );
  console.log(`   closed by the server for unread replies: ${await closedForBacklog(1)}`);
  a!.destroy();

  // ---- B: 900 KB SDP, DESCRIBEd 2,000 times, never read ----
  const pad = Array.from({ length: 900 }, (_, i) => `a=x-pad${i}:${'x'.repeat(1000)}`).join('\r\n');
  const sdp = TEST_SDP.replace('t=0 0\r\n', `t=0 0\r\n${pad}\r\n`);
  const auth = `Authorization: Basic ${Buffer.from('admin:secret').toString('base64')}\r\n`;
  const pub = await connect(ports.rtsp, HOST);
  const url = `rtsp://${HOST}:${ports.rtsp}/big`;
  let pubAnswer = '';
  pub!.on('data', (d: Buffer) => (pubAnswer += d.toString('latin1')));
  const pubReq = async (text: string): Promise<string> => {
    const before = (pubAnswer.match(/RTSP\/1\.0 /g) ?? []).length;
    pub!.write(text);
    for (let i = 0; i < 150 && (pubAnswer.match(/RTSP\/1\.0 /g) ?? []).length === before; i++)
      await sleep(20);
    return pubAnswer.slice(pubAnswer.lastIndexOf('RTSP/1.0 '));
  };
  await pubReq(
    `ANNOUNCE ${url} RTSP/1.0\r\nCSeq: 1\r\n${auth}Content-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(sdp)}\r\n\r\n${sdp}`,
  );
  const setup = await pubReq(
    `SETUP ${url}/streamid=0 RTSP/1.0\r\nCSeq: 2\r\n${auth}Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n\r\n`,
  );
  const session = /Session: ([^;\r]+)/.exec(setup)?.[1] ?? '';
  await pubReq(
    `SETUP ${url}/streamid=1 RTSP/1.0\r\nCSeq: 3\r\n${auth}Session: ${session}\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3;mode=record\r\n\r\n`,
  );
  const record = await pubReq(`RECORD ${url} RTSP/1.0\r\nCSeq: 4\r\n${auth}Session: ${session}\r\n\r\n`);
  console.log(`B. publisher of a ${mb(sdp.length)} SDP: ${record.split('\r\n')[0]}`);
  const rssB0 = rssBytes();
  const b = await connect(ports.rtsp, ATTACKER);
  b!.on('error', () => undefined);
  const writtenB = await flood(b!, (i) => `DESCRIBE ${url} RTSP/1.0\r\nCSeq: ${i + 1}\r\n\r\n`, 2000);
  await sleep(1000);
  const rssB = rssBytes();
  const mB = await metrics();
  console.log(
    `   ${writtenB} DESCRIBEs of it written, never read: RSS ${mb(rssB0)} -> ${mb(rssB)}, heap ${mb(metric(mB, 'nodejs_heap_size_used_bytes'))}; input holds ${metric(mB, 'rtspkit_reply_backlog_holds_total')}`,
  );
  console.log(`   closed by the server for unread replies: ${await closedForBacklog(2)}`);
  b!.destroy();
  pub!.destroy();

  // ---- C: idle connections of every kind ----
  const held: net.Socket[] = [];
  let refused = 0;
  const keep = (s: net.Socket | undefined): void => {
    if (s === undefined) refused++;
    else {
      s.on('error', () => undefined);
      s.resume(); // reads, so that a close by the server is seen
      held.push(s);
    }
  };
  const before = await metrics();
  for (let i = 0; i < IDLE_EACH; i++) {
    const g = await connect(ports.rtsp, ATTACKER);
    g?.write(`GET /t HTTP/1.0\r\nx-sessioncookie: idle${i}\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n`);
    keep(g);
    keep(await connect(ports.rtsps!, ATTACKER));
    keep(await connect(ports.rtsp, ATTACKER));
  }
  for (let i = 0; i < 256; i++) keep(await connect(ports.api, ATTACKER));
  await sleep(500);
  const alive = (): number => held.filter((s) => !s.destroyed && !s.readableEnded).length;
  const openedC = held.length + refused;
  const after = await metrics();
  const delta = (name: string): number => metric(after, name) - metric(before, name);
  console.log(
    `C. ${openedC} idle connections opened (${IDLE_EACH} tunnel GETs, ${IDLE_EACH} TLS without handshake, ${IDLE_EACH} RTSP, 256 API): ${alive()} held; refused: ${delta('rtspkit_connections_refused_total')} RTSP-port, ${delta('rtspkit_api_connections_refused_total')} API`,
  );
  console.log(`   fresh clients while they are held: ${JSON.stringify(await freshClients())}`);
  const deadline = Date.now() + 20_000;
  while (alive() > 0 && Date.now() < deadline) await sleep(250);
  console.log(`   still open 20 s later at most: ${alive()} (timeouts closed the rest)`);
  for (const s of held) s.destroy();

  const m = await metrics();
  const lines = m
    .split('\n')
    .filter((l) =>
      /^rtspkit_(connections_refused|connections_closed|reply_backlog|tunnel_posts|log_lines|api_connections)/.test(
        l,
      ),
    );
  console.log(`after: RSS ${mb(rssBytes())}, heap ${mb(metric(m, 'nodejs_heap_size_used_bytes'))}`);
  console.log(`log: ${logLines} lines, ${mb(logBytes)} at info`);
  for (const l of lines) console.log(`   ${l}`);
  console.log(`fresh clients at the end: ${JSON.stringify(await freshClients())}`);
}

const watchdog = setTimeout(() => {
  console.error('attack-connections: gave up after 5 minutes');
  server.kill('SIGKILL');
  process.exit(2);
}, 5 * 60_000);
main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    clearTimeout(watchdog);
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });
