// One client tries to fill the session table and the server's memory (issue 13, item 7), then another
// client asks for a session. Loopback only; every phase is bounded in requests and in time.
//
//   node dist/bench/attack-sessions.js [--setups 4200] [--announces 4200] [--big-sdps 400]
//                                      [--play-ranges 100000] [--phase-seconds 60] [--json]
//
// Each phase runs against a fresh `rtspkit serve` (a child process, ended by PID; the demo as a live
// path, media/ as the folder of files on demand, the API for /metrics) with the default limits:
// - setups: UDP SETUPs of /demo from 127.0.0.1 (each a new session, its own client_port pair);
// - announces: ANNOUNCEs of new paths from 127.0.0.1 (small SDP);
// - big-sdps: ANNOUNCEs with a 1,000,000-byte SDP (under maxRequestBodyBytes, over maxAnnouncedSdpBytes);
// - play-ranges: one session on demo.mp4 playing, then PLAYs with a Range (each would queue, §10.5).
// Requests are pipelined in batches of 100 on one connection. For each phase it prints the server's RSS
// before and after, the sessions it holds, the refusals by status and by reason (from /metrics), and
// whether a second client from 127.0.0.2 still gets its request through.
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RtspFramer } from '../src/rtsp/framer.js';
import type { RtspResponse } from '../src/rtsp/message.js';
import { TEST_SDP } from '../test/support/fake-publisher.js';
import { HOST, canConnect, freePort, freeUdpPortPair } from './probe.js';
import { Proc, killAllOnExit, rssKB, scratchDirs, sleep, waitUntil } from './proc.js';
// `rtspkit serve` re-executes itself without these (cli/node-flags.ts): given here, the PID measured is the server's.
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const MEDIA = fileURLToPath(new URL('../../media', import.meta.url));
const OTHER_IP = '127.0.0.2';
const BATCH = 100;

interface Options {
  setups: number;
  announces: number;
  bigSdps: number;
  playRanges: number;
  phaseSeconds: number;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    setups: 4200,
    announces: 4200,
    bigSdps: 400,
    playRanges: 100_000,
    phaseSeconds: 60,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (max: number): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${a}: an integer 0..${max}`);
      return v;
    };
    if (a === '--setups') o.setups = num(100_000);
    else if (a === '--announces') o.announces = num(100_000);
    else if (a === '--big-sdps') o.bigSdps = num(2000);
    else if (a === '--play-ranges') o.playRanges = num(1_000_000);
    else if (a === '--phase-seconds') o.phaseSeconds = num(600);
    else if (a === '--json') o.json = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

/** One connection that pipelines requests and collects responses in order. */
class Pipeline {
  private readonly framer = new RtspFramer({ maxBodyBytes: 16 * 1024 * 1024 });
  private readonly responses: RtspResponse[] = [];
  private wake: (() => void) | undefined;
  private cseq = 0;
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      for (const m of this.framer.push(chunk)) if (m.kind === 'response') this.responses.push(m);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, localAddress?: string): Promise<Pipeline> {
    return new Promise((resolve, reject) => {
      const opts: net.NetConnectOpts = { port, host: HOST };
      if (localAddress !== undefined) opts.localAddress = localAddress;
      const s = net.connect(opts, () => resolve(new Pipeline(s)));
      s.once('error', reject);
    });
  }

  request(method: string, uri: string, headers: Record<string, string> = {}, body = ''): string {
    let text = `${method} ${uri} RTSP/1.0\r\nCSeq: ${++this.cseq}\r\n`;
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    if (body !== '') text += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    return `${text}\r\n${body}`;
  }

  /** Sends the requests at once; resolves with their responses (fewer if closed or `deadlineMs` passes). */
  async send(requests: string[], deadlineMs: number): Promise<RtspResponse[]> {
    const start = this.responses.length;
    this.socket.write(requests.join(''));
    while (this.responses.length - start < requests.length && !this.closed && Date.now() < deadlineMs) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.responses.slice(start);
  }

  close(): void {
    this.socket.destroy();
  }
}

interface PhaseResult {
  phase: string;
  requests: number;
  answered: number;
  statuses: Record<string, number>;
  seconds: number;
  rssBeforeMB: number;
  rssAfterMB: number;
  sessionsHeld: number;
  refusals: Record<string, number>;
  secondClient: string;
}

async function metrics(apiPort: number): Promise<{ sessions: number; refusals: Record<string, number> }> {
  const text = await (await fetch(`http://${HOST}:${apiPort}/metrics`)).text();
  let sessions = 0;
  const refusals: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const s = /^rtspkit_sessions\{[^}]*\} (\d+)/.exec(line);
    if (s !== null) sessions += Number(s[1]);
    const r = /^rtspkit_session_refusals_total\{reason="(\w+)"\} (\d+)/.exec(line);
    if (r !== null && Number(r[2]) > 0) refusals[r[1]!] = Number(r[2]);
  }
  return { sessions, refusals };
}

async function startServer(): Promise<{ proc: Proc; port: number; apiPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'rtspkit-attack-'));
  scratchDirs.add(dir);
  const port = await freePort();
  const apiPort = await freePort();
  const cfg = join(dir, 'rtspkit.yml');
  writeFileSync(
    cfg,
    [
      'logLevel: warn',
      'rtmpAddress: null',
      `rtpPort: ${await freeUdpPortPair()}`,
      'demo: true',
      `mediaDir: ${JSON.stringify(MEDIA)}`,
      'api: true',
      `apiAddress: "${HOST}:${apiPort}"`,
      '',
    ].join('\n'),
  );
  const proc = new Proc(
    'rtspkit',
    process.execPath,
    [...SERVE_NODE_FLAGS, CLI, 'serve', '-c', cfg, '--host', HOST, '--port', String(port)],
    {
      cwd: dir,
      env: SERVE_NODE_ENV,
    },
  );
  await waitUntil('rtspkit to listen', 20_000, async () => {
    if (proc.exited) throw new Error(`rtspkit exited (${proc.exitInfo}): ${proc.stderrTail()}`);
    return (await canConnect(port)) && (await canConnect(apiPort));
  });
  return { proc, port, apiPort };
}

const mb = (kb: number): number => Math.round(kb / 102.4) / 10;

async function phase(
  name: string,
  count: number,
  o: Options,
  make: (p: Pipeline, i: number, url: (path: string) => string) => string,
  prepare: ((p: Pipeline, url: (path: string) => string) => Promise<void>) | undefined,
  second: (p: Pipeline, url: (path: string) => string, deadlineMs: number) => Promise<string>,
): Promise<PhaseResult> {
  const { proc, port, apiPort } = await startServer();
  const url = (path: string): string => `rtsp://${HOST}:${port}/${path}`;
  try {
    await sleep(1000);
    const rssBefore = rssKB(proc.pid);
    const attacker = await Pipeline.connect(port);
    await prepare?.(attacker, url);
    const statuses: Record<string, number> = {};
    const started = Date.now();
    const deadline = started + o.phaseSeconds * 1000;
    let answered = 0;
    for (let i = 0; i < count && Date.now() < deadline && !attacker.closed; i += BATCH) {
      const batch: string[] = [];
      for (let j = i; j < Math.min(count, i + BATCH); j++) batch.push(make(attacker, j, url));
      for (const r of await attacker.send(batch, deadline)) {
        answered++;
        statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
      }
    }
    const seconds = (Date.now() - started) / 1000;
    const rssAfter = rssKB(proc.pid);
    const m = await metrics(apiPort);
    const other = await Pipeline.connect(port, OTHER_IP);
    const secondClient = await second(other, url, Date.now() + 10_000);
    other.close();
    attacker.close();
    proc.assertAlive();
    return {
      phase: name,
      requests: count,
      answered,
      statuses,
      seconds: Math.round(seconds * 10) / 10,
      rssBeforeMB: mb(rssBefore),
      rssAfterMB: mb(rssAfter),
      sessionsHeld: m.sessions,
      refusals: m.refusals,
      secondClient,
    };
  } finally {
    await proc.stop();
  }
}

const udpSetup = (p: Pipeline, url: (path: string) => string, port: number): string =>
  p.request('SETUP', `${url('demo')}/trackID=0`, {
    Transport: `RTP/AVP;unicast;client_port=${port}-${port + 1}`,
  });

async function reply(p: Pipeline, request: string, deadlineMs: number): Promise<string> {
  const [r] = await p.send([request], deadlineMs);
  return r === undefined ? 'no answer' : `${r.statusCode} ${r.reason}`;
}

async function main(): Promise<void> {
  killAllOnExit('attack-sessions');
  const o = parseOptions(process.argv.slice(2));
  const results: PhaseResult[] = [];
  const sdp = { 'Content-Type': 'application/sdp' };
  const bigSdp = `${TEST_SDP}a=x-pad:${'a'.repeat(1_000_000 - TEST_SDP.length - 12)}\r\n`;

  results.push(
    await phase(
      'UDP SETUPs',
      o.setups,
      o,
      (p, i, url) => udpSetup(p, url, 20_000 + 2 * (i % 20_000)),
      undefined,
      (p, url, d) => reply(p, udpSetup(p, url, 60_000), d),
    ),
  );
  results.push(
    await phase(
      'ANNOUNCEs',
      o.announces,
      o,
      (p, i, url) => p.request('ANNOUNCE', url(`flood${i}`), sdp, TEST_SDP),
      undefined,
      (p, url, d) => reply(p, p.request('ANNOUNCE', url('admin'), sdp, TEST_SDP), d),
    ),
  );
  results.push(
    await phase(
      '1 MB SDP ANNOUNCEs',
      o.bigSdps,
      o,
      (p, i, url) => p.request('ANNOUNCE', url(`big${i}`), sdp, bigSdp),
      undefined,
      (p, url, d) => reply(p, p.request('ANNOUNCE', url('admin'), sdp, TEST_SDP), d),
    ),
  );
  let vodSession = '';
  results.push(
    await phase(
      'queued PLAY ranges',
      o.playRanges,
      o,
      (p, i, url) =>
        p.request('PLAY', url('demo.mp4'), {
          Session: vodSession,
          Range: `npt=${(i % 9) + 0.5}-${(i % 9) + 1}`,
        }),
      async (p, url) => {
        const [s] = await p.send(
          [
            p.request('SETUP', `${url('demo.mp4')}/trackID=0`, {
              Transport: 'RTP/AVP;unicast;client_port=20000-20001',
            }),
          ],
          Date.now() + 10_000,
        );
        vodSession = s?.headers.get('Session')?.split(';')[0] ?? '';
        await p.send(
          [p.request('PLAY', url('demo.mp4'), { Session: vodSession, Range: 'npt=0-' })],
          Date.now() + 10_000,
        );
      },
      (p, url, d) => reply(p, udpSetup(p, url, 60_000), d),
    ),
  );

  if (o.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  for (const r of results) {
    process.stdout.write(
      `${r.phase}: ${r.answered}/${r.requests} answered in ${r.seconds} s, statuses ${JSON.stringify(r.statuses)}\n` +
        `  RSS ${r.rssBeforeMB} -> ${r.rssAfterMB} MB, sessions held ${r.sessionsHeld}, ` +
        `refusals ${JSON.stringify(r.refusals)}\n` +
        `  a second client from ${OTHER_IP}: ${r.secondClient}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`attack-sessions: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
