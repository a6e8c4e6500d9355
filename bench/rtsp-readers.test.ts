// bench/native/rtsp-readers.c (the fan-out bench's `--readers-impl c`) against a scripted RTSP server on
// 127.0.0.1: replies and `$` frames cut across writes, a keepalive reply between frames, RTCP on odd channels,
// channels other than those asked for, a reply too large and a 404 (each fails its reader with a reason), the
// report's counters; stdin EOF ends it with code 3; UDP is refused. Skipped where gcc is missing
// (outside CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ReadyMessage, ReportMessage } from './readers.js';
import { skipUnless } from '../test/support/tools.js';

const SOURCE = fileURLToPath(new URL('../../bench/native/rtsp-readers.c', import.meta.url));

function build(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rtsp-readers-test-'));
  const bin = join(dir, 'rtsp-readers');
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-Werror', '-o', bin, SOURCE], { stdio: 'pipe' });
    return bin;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** An RTP packet: version 2, sequence number, timestamp, payload. */
function rtp(seq: number, ts: number, payload: number[]): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(ts, 4);
  Buffer.from(payload).copy(b, 12);
  return b;
}

const frame = (channel: number, p: Buffer): Buffer =>
  Buffer.concat([Buffer.from([0x24, channel, p.length >> 8, p.length & 0xff]), p]);

const reply = (cseq: string, headers: string, body = ''): string =>
  `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n${headers}${body === '' ? '' : `Content-Length: ${Buffer.byteLength(body)}\r\n`}\r\n${body}`;

/** Writes `bytes` in pieces of `size`, a few ms apart, so that the client's reads cut frames and replies. */
async function writeCut(socket: net.Socket, bytes: Buffer, size: number): Promise<void> {
  for (let o = 0; o < bytes.length; o += size) {
    socket.write(bytes.subarray(o, o + size));
    await new Promise((r) => setTimeout(r, 3));
  }
}

interface Script {
  port: number;
  seen: string[];
  playing: net.Socket | undefined;
  /** The PLAY reply and first frames written (before the window). */
  playBurst: Promise<void> | undefined;
  /** Set once "mark" is sent: the next keepalive's reply comes with an audio frame cut in two. */
  windowOpen: boolean;
  keepalive: Promise<void>;
  close(): void;
}

/** The server: connection 1 plays (video on 0-1, audio answered on 6-7), 2 gets a huge body, 3 a 404. */
async function startServer(): Promise<Script> {
  let conns = 0;
  let keepalives = 0;
  let keepaliveSeen: () => void = () => undefined;
  const script: Script = {
    port: 0,
    seen: [],
    playing: undefined,
    playBurst: undefined,
    windowOpen: false,
    keepalive: new Promise<void>((r) => (keepaliveSeen = r)),
    close: () => server.close(),
  };
  const server = net.createServer((socket) => {
    const conn = ++conns;
    let buf = '';
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const req = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const [line = ''] = req.split('\r\n');
        const cseq = /\r\nCSeq: (\d+)/.exec(req)?.[1] ?? '0';
        script.seen.push(`${conn} ${line} ${/\r\nSession: (\S+)/.exec(req)?.[1] ?? '-'}`);
        const base = `rtsp://127.0.0.1:${script.port}/live/`;
        if (line.startsWith('DESCRIBE')) {
          if (conn === 2) socket.write('RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 999999\r\n\r\n');
          else if (conn === 3) socket.write(`RTSP/1.0 404 Not Found\r\nCSeq: ${cseq}\r\n\r\n`);
          else {
            const sdp =
              'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\na=control:*\r\n' +
              'm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n' +
              'm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\na=control:trackID=1\r\n';
            void writeCut(socket, Buffer.from(reply(cseq, `Content-Base: ${base}\r\n`, sdp)), 7);
          }
        } else if (line.startsWith('SETUP')) {
          const track = line.includes('trackID=1') ? 1 : 0;
          const channels = track === 1 ? '6-7' : '0-1';
          socket.write(
            reply(
              cseq,
              `Session: abc;timeout=3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=${channels}\r\n`,
            ),
          );
        } else if (line.startsWith('PLAY')) {
          script.playing = socket;
          // A non-key video packet first, then an FU-A start of an IDR; audio and RTCP cut mid-frame.
          const bytes = Buffer.concat([
            Buffer.from(reply(cseq, 'Session: abc\r\nRange: npt=0.000-\r\n')),
            frame(0, rtp(1, 0, [0x41, 0x9a])),
            frame(1, Buffer.alloc(28, 0x80)),
            frame(6, rtp(10, 0, [1, 2, 3])),
            frame(0, rtp(2, 3000, [0x7c, 0x85, 0])),
            frame(7, Buffer.alloc(28, 0x80)),
          ]);
          script.playBurst = writeCut(socket, bytes, 5);
        } else if (line.startsWith('OPTIONS')) {
          // The first keepalive's reply after a frame cut in two writes, before the next frame.
          if (!script.windowOpen || keepalives++ > 0) {
            socket.write(reply(cseq, 'Session: abc\r\n'));
            continue;
          }
          const f = frame(6, rtp(11, 1024, [4, 5, 6]));
          socket.write(f.subarray(0, 6));
          setTimeout(() => {
            socket.write(f.subarray(6));
            socket.write(reply(cseq, 'Session: abc\r\n'));
            keepaliveSeen();
          }, 5);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  script.port = (server.address() as net.AddressInfo).port;
  return script;
}

// gcc is installed by .ci/run: in CI a missing gcc fails the file (skipUnless) rather than skipping.
const skip = skipUnless('gcc');
const bin = skip === false ? build() : undefined;

test(
  'rtsp-readers.c: setups, cut frames and replies, failures with reasons, the report',
  { skip },
  async () => {
    const server = await startServer();
    const child = spawn(
      bin!,
      [
        '--url',
        `rtsp://127.0.0.1:${server.port}/live`,
        '--count',
        '3',
        '--ramp',
        '1',
        '--timeout-ms',
        '5000',
        '--transport',
        'tcp',
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const next = (): Promise<string> => new Promise((r) => lines.once('line', r));
      const ready = JSON.parse(await next()) as ReadyMessage;
      assert.equal(ready.type, 'ready');
      assert.deepEqual([ready.requested, ready.playing, ready.failed], [3, 1, 2]);
      assert.deepEqual(ready.failures, { 'reply body too large or malformed': 1, 'DESCRIBE 404': 1 });
      await server.playBurst;
      await new Promise((r) => setTimeout(r, 50));
      child.stdin.write('mark\n');
      await new Promise((r) => setTimeout(r, 50));
      server.windowOpen = true;
      // In the window: two more video packets (one lost between them) and the keepalive's cut audio frame.
      server.playing!.write(Buffer.concat([frame(0, rtp(3, 6000, [0x41])), frame(0, rtp(5, 9000, [0x41]))]));
      await server.keepalive;
      await new Promise((r) => setTimeout(r, 100));
      server.playing!.destroy(); // a reader closed after PLAY
      await new Promise((r) => setTimeout(r, 100));
      child.stdin.write('stop\n');
      const report = JSON.parse(await next()) as ReportMessage;
      const code = await new Promise((r) => child.once('exit', r));
      assert.equal(code, 0);
      assert.equal(report.type, 'report');
      assert.deepEqual([report.playing, report.failed, report.closedAfterPlay], [1, 2, 1]);
      assert.deepEqual(report.closeReasons, { 'connection closed': 1 });
      assert.equal(report.setupMs.length, 1);
      assert.equal(report.firstKeyframeMs.length, 1);
      assert.equal(report.firstVideoIsKeyframe, 0);
      assert.equal(report.noKeyframe, 0);
      // RTCP (channels 1 and 7) is counted in bytes, not as RTP; 2 video + 1 audio RTP packets in the window.
      assert.equal(report.windowRtpPackets, 3);
      assert.equal(report.windowLost, 1);
      assert.equal(report.windowBytes, 2 * (4 + 13) + (4 + 15));
      assert.equal(report.totalRtpPackets, 6);
      assert.equal(report.addedDelayMs.packets, 2);
      // SETUPs at the Content-Base's control URLs, the second with the session; PLAY and OPTIONS at the base.
      const base = `rtsp://127.0.0.1:${server.port}/live/`;
      assert.deepEqual(server.seen.filter((s) => s.startsWith('1 ')).slice(0, 5), [
        `1 DESCRIBE rtsp://127.0.0.1:${server.port}/live RTSP/1.0 -`,
        `1 SETUP ${base}trackID=0 RTSP/1.0 -`,
        `1 SETUP ${base}trackID=1 RTSP/1.0 abc`,
        `1 PLAY ${base} RTSP/1.0 abc`,
        `1 OPTIONS ${base} RTSP/1.0 abc`,
      ]);
    } finally {
      child.kill('SIGKILL');
      server.close();
      server.playing?.destroy();
    }
  },
);

test('rtsp-readers.c: a DESCRIBE without a reply times out', { skip }, async () => {
  const silent = net.createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as net.AddressInfo).port;
  const child = spawn(bin!, ['--url', `rtsp://127.0.0.1:${port}/x`, '--count', '2', '--timeout-ms', '200'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const lines = createInterface({ input: child.stdout });
    const ready = JSON.parse(await new Promise<string>((r) => lines.once('line', r))) as ReadyMessage;
    assert.deepEqual([ready.playing, ready.failed], [0, 2]);
    assert.deepEqual(ready.failures, { 'DESCRIBE timed out after 200 ms': 2 });
  } finally {
    child.kill('SIGKILL');
    silent.close();
  }
});

test('rtsp-readers.c: stdin closing ends it with code 3; UDP is refused', { skip }, async () => {
  const server = await startServer();
  try {
    const child = spawn(bin!, ['--url', `rtsp://127.0.0.1:${server.port}/live`, '--count', '1'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.end();
    assert.equal(await new Promise((r) => child.once('exit', r)), 3);
    const udp = spawn(bin!, ['--url', 'rtsp://127.0.0.1:1/x', '--count', '1', '--transport', 'udp'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let err = '';
    udp.stderr.on('data', (d: Buffer) => (err += d.toString()));
    assert.equal(await new Promise((r) => udp.once('close', r)), 1);
    assert.match(err, /TCP \(interleaved\) only/);
  } finally {
    server.close();
  }
});
