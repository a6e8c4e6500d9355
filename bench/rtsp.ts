// Throughput of the RTSP message layer: framing requests and `$` frames, serializing responses.
import { RtspFramer } from '../src/rtsp/framer.js';
import { RtspHeaders } from '../src/rtsp/headers.js';
import { serializeInterleaved, serializeRequest, serializeResponse } from '../src/rtsp/message.js';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

const RUN_MS = 1000;
const CHUNK_BYTES = 64 * 1024;

/** Calls `step` (which reports how many items it handled) until RUN_MS have passed; returns items per second. */
function rate(step: () => number): number {
  for (let i = 0; i < 20; i++) step(); // warm-up
  let items = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < RUN_MS) {
    items += step();
    elapsed = performance.now() - start;
  }
  return Math.round((items * 1000) / elapsed);
}

/** `unit` repeated to fill about CHUNK_BYTES, cut into CHUNK_BYTES chunks regardless of message boundaries. */
function chunked(unit: Buffer): { chunks: Buffer[]; count: number } {
  const count = Math.max(1, Math.floor((4 * CHUNK_BYTES) / unit.length));
  const stream = Buffer.concat(Array.from({ length: count }, () => unit));
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += CHUNK_BYTES) chunks.push(stream.subarray(i, i + CHUNK_BYTES));
  return { chunks, count };
}

function framerRate(unit: Buffer): number {
  const { chunks, count } = chunked(unit);
  const framer = new RtspFramer();
  return rate(() => {
    let n = 0;
    for (const c of chunks) n += framer.push(c).length;
    if (n !== count) throw new Error(`bench: parsed ${n} messages, expected ${count}`);
    return n;
  });
}

export function benchRtsp(): BenchResult[] {
  const play = serializeRequest({
    method: 'PLAY',
    uri: 'rtsp://192.168.1.10:8554/live/camera1/',
    headers: new RtspHeaders([
      ['CSeq', '4'],
      ['User-Agent', 'Lavf60.16.100'],
      ['Session', '4f2a9c1e7b3d'],
      ['Range', 'npt=0.000-'],
      ['Date', 'Mon, 23 Nov 2026 23:01:40 GMT'],
      ['Accept-Language', 'en-US'],
    ]),
    body: Buffer.alloc(0),
  });
  const frame = serializeInterleaved(0, Buffer.alloc(1400, 0x5a));

  const sdp = Buffer.from('v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns= \r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n');
  const responseRate = rate(() => {
    for (let i = 0; i < 100; i++) {
      serializeResponse({
        statusCode: 200,
        headers: new RtspHeaders([
          ['CSeq', String(i)],
          ['Session', '4f2a9c1e7b3d;timeout=60'],
          ['RTP-Info', 'url=rtsp://192.168.1.10:8554/live/camera1/trackID=0;seq=1234;rtptime=567890'],
          ['Content-Type', 'application/sdp'],
        ]),
        body: sdp,
      });
    }
    return 100;
  });

  return [
    {
      name: `rtsp framer: ${play.length}-byte PLAY requests in 64 KB chunks`,
      value: framerRate(play),
      unit: 'req/s',
    },
    {
      name: 'rtsp framer: $ frames with 1400-byte payloads in 64 KB chunks',
      value: framerRate(frame),
      unit: 'frames/s',
    },
    {
      name: 'rtsp serializeResponse: 200 with 4 headers and SDP body',
      value: responseRate,
      unit: 'responses/s',
    },
  ];
}
