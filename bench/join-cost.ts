// What a join from the GOP cache costs the server's JS, sockets left out: N sessions join one Stream whose GOP
// cache holds ~130 KB (100 packets, as the bench clip's), each through PLAY's steps (ServerSession.startReading,
// then openOutput as once the PLAY reply is written, then the next event-loop turn), into a sink that takes
// every write. Prints the CPU ms per round of N joins and the peak of `arrayBuffers` over a round (what the
// joins allocate outside the heap). CPU time, not latency: usable on a shared machine, unlike bench:fanout's
// storm latencies.
//
//   node dist/bench/join-cost.js [--joins 1000] [--rounds 5]
//
// A/B against another build: copy dist/bench/join-cost.js into that build's dist/bench/ (its imports are
// relative, so it measures that build's stream and session) and alternate the two.
import { nullLogger } from '../src/base/logger.js';
import { Stream } from '../src/media/stream.js';
import { serializeRtpPacket } from '../src/rtp/packet.js';
import { ServerSession, type InterleavedSink } from '../src/server/session.js';

function parseArgs(argv: string[]): { joins: number; rounds: number } {
  const out = { joins: 1000, rounds: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${argv[i]}: a positive integer`);
    if (argv[i] === '--joins') out.joins = v;
    else if (argv[i] === '--rounds') out.rounds = v;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return out;
}

/** Takes every write at once, as a socket whose kernel buffer never fills. */
const sink: InterleavedSink = {
  writableLength: 0,
  backlogBytes: 0,
  write: () => undefined,
  writeTransient: () => true,
  writeInterleaved: () => undefined,
};

let seq = 0;
function packet(timestamp: number, nal: number, bytes: number): Buffer {
  return serializeRtpPacket({
    marker: false,
    payloadType: 96,
    sequenceNumber: seq++ & 0xffff,
    timestamp,
    ssrc: 1,
    csrcs: [],
    payload: Buffer.alloc(bytes, nal),
  });
}

/** A stream with a keyframe and 97 more packets (video, and AAC every fifth) in its GOP cache. */
function streamWithGop(): Stream {
  const stream = new Stream([
    { encodingName: 'H264', clockRate: 90000 },
    { encodingName: 'MPEG4-GENERIC', clockRate: 48000 },
  ]);
  stream.ingestRtp(0, packet(0, 0x67, 20));
  stream.ingestRtp(0, packet(0, 0x68, 8));
  stream.ingestRtp(0, packet(0, 0x65, 1300));
  for (let i = 0; i < 97; i++)
    stream.ingestRtp(i % 5 === 4 ? 1 : 0, packet(3000 * (1 + (i >> 2)), 0x41, 1300));
  stream.flushNow();
  return stream;
}

async function round(joins: number): Promise<{ cpuMs: number; peakArrayBuffersKB: number }> {
  const stream = streamWithGop();
  const sessions = Array.from({ length: joins }, (_, i) => {
    const s = new ServerSession(`s${i}`, 'bench', { kind: 'live-reader' }, 2, sink, nullLogger, 0, 0);
    s.setups[0] = { kind: 'tcp', rtpChannel: 0, rtcpChannel: 1 };
    s.setups[1] = { kind: 'tcp', rtpChannel: 2, rtcpChannel: 3 };
    return s;
  });
  const arrayBuffers0 = process.memoryUsage().arrayBuffers;
  let peak = 0;
  const cpu0 = process.cpuUsage();
  for (const s of sessions) {
    await s.startReading(stream, 1000); // PLAY: the join
    s.openOutput(); // its reply is written
    await new Promise((resolve) => setImmediate(resolve)); // the next turn (the join pacer's budget)
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - arrayBuffers0);
  }
  const cpu = process.cpuUsage(cpu0);
  for (const s of sessions) s.stopReading();
  stream.end('done');
  return { cpuMs: (cpu.user + cpu.system) / 1000, peakArrayBuffersKB: peak / 1024 };
}

async function main(): Promise<void> {
  const { joins, rounds } = parseArgs(process.argv.slice(2));
  await round(Math.min(200, joins)); // warm-up
  const results = [];
  for (let r = 0; r < rounds; r++) results.push(await round(joins));
  process.stdout.write(
    `join-cost: ${joins} joins a round; CPU ms per round ${results.map((x) => x.cpuMs.toFixed(0)).join(' ')}; ` +
      `arrayBuffers peak KB ${results.map((x) => x.peakArrayBuffersKB.toFixed(0)).join(' ')}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`join-cost: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
