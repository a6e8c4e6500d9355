// RTP/RTCP codec throughput. Called from bench/protocol.ts; not a runner of its own.
import { parseRtpPacket, rewriteRtpHeader, serializeRtpPacket, type RtpPacket } from '../src/rtp/packet.js';
import { parseRtcpCompound, serializeRtcpCompound } from '../src/rtp/rtcp.js';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

const TARGET_MS = 600;
const BATCH = 1000;

/** Runs `fn` in batches until TARGET_MS has passed; returns calls per second. */
function rate(fn: (i: number) => void): number {
  for (let i = 0; i < BATCH * 10; i++) fn(i); // warm-up
  let calls = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    for (let i = 0; i < BATCH; i++) fn(calls + i);
    calls += BATCH;
    elapsed = performance.now() - start;
  } while (elapsed < TARGET_MS);
  return Math.round((calls / elapsed) * 1000);
}

export function benchRtp(): BenchResult[] {
  const payload = Buffer.alloc(1400 - 12, 0xab);
  const packet: RtpPacket = {
    marker: true,
    payloadType: 96,
    sequenceNumber: 1,
    timestamp: 90000,
    ssrc: 0x12345678,
    csrcs: [],
    payload,
  };
  const wire = serializeRtpPacket(packet);
  const srOnly = serializeRtcpCompound([
    {
      type: 'sr',
      ssrc: 0x12345678,
      ntp: { seconds: 0xe8000000, fraction: 0x80000000 },
      rtpTimestamp: 90000,
      packetCount: 1000,
      octetCount: 1_400_000,
      reports: [],
    },
  ]);
  const srSdes = serializeRtcpCompound([
    {
      type: 'sr',
      ssrc: 0x12345678,
      ntp: { seconds: 0xe8000000, fraction: 0x80000000 },
      rtpTimestamp: 90000,
      packetCount: 1000,
      octetCount: 1_400_000,
      reports: [],
    },
    { type: 'sdes', chunks: [{ ssrc: 0x12345678, items: [{ type: 1, text: 'rtspkit@127.0.0.1' }] }] },
  ]);

  // Sinks keep the work observable so it is not optimized away.
  let sink = 0;
  const results: BenchResult[] = [
    {
      name: 'rtp parse (1400 B)',
      value: rate(() => {
        sink += parseRtpPacket(wire).sequenceNumber;
      }),
      unit: 'packets/s',
    },
    {
      name: 'rtp serialize (1400 B)',
      value: rate((i) => {
        packet.sequenceNumber = i & 0xffff;
        sink += serializeRtpPacket(packet).length;
      }),
      unit: 'packets/s',
    },
    {
      name: 'rtp rewriteRtpHeader (1400 B)',
      value: rate((i) => {
        rewriteRtpHeader(wire, i, i * 3000, 0x9abcdef0);
        sink += wire[3]!;
      }),
      unit: 'packets/s',
    },
    {
      name: 'rtcp SR parse',
      value: rate(() => {
        sink += parseRtcpCompound(srOnly).length;
      }),
      unit: 'packets/s',
    },
    {
      name: 'rtcp SR+SDES compound parse',
      value: rate(() => {
        sink += parseRtcpCompound(srSdes).length;
      }),
      unit: 'packets/s',
    },
  ];
  if (sink === -1) console.log(sink);
  return results;
}
