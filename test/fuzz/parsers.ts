/**
 * Property fuzzing of every parser that reads untrusted bytes: each either returns a value or
 * throws ParseError, never anything else; depacketizers never throw at all.
 */
import fc from 'fast-check';
import { isParseError } from '../../src/base/errors.js';
import { RtspFramer } from '../../src/rtsp/framer.js';
import * as rtsp from '../../src/rtsp/index.js';
import { Base64StreamDecoder, parseTunnelRequest } from '../../src/rtsp/tunnel.js';
import { parseSdp } from '../../src/sdp/parse.js';
import { parseRtpPacket } from '../../src/rtp/packet.js';
import { parseRtcpCompound } from '../../src/rtp/rtcp.js';
import { createDepacketizer } from '../../src/format/registry.js';

export interface FuzzResult {
  name: string;
  runs: number;
}

function onlyParseError(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!isParseError(err)) throw err;
  }
}

const REQUEST =
  'SETUP rtsp://127.0.0.1:8554/live/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 12345678;timeout=60\r\nRange: npt=0.000-\r\nContent-Length: 4\r\n\r\nabcd';

/** Bytes near valid input: a real message with a few bytes changed, cut or repeated. */
function mutated(base: Buffer): fc.Arbitrary<Buffer> {
  return fc
    .tuple(
      fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.nat(base.length),
    )
    .map(([changes, cut]) => {
      const b = Buffer.from(base);
      for (const [i, v] of changes) b[i] = v;
      return b.subarray(0, Math.max(1, cut));
    });
}

const headerText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.stringMatching(/^[ -~]{0,120}$/),
  fc
    .constantFrom(
      'RTP/AVP;unicast;client_port=5000-5001',
      'RTP/AVP/TCP;interleaved=0-1;mode=record',
      'npt=0.000-10.5',
      'smpte=10:07:00-10:07:33:05.01',
      'clock=19961108T142300Z-19961108T143520Z',
      'url=rtsp://h/a/trackID=0;seq=1;rtptime=2,url=rtsp://h/a/trackID=1;seq=3',
      'Digest username="u", realm="r", nonce="n", uri="/", response="0123"',
      '12345678;timeout=60',
    )
    .chain((s) =>
      fc
        .tuple(fc.constant(s), fc.nat(s.length), fc.string({ maxLength: 5 }))
        .map(([t, i, ins]) => t.slice(0, i) + ins + t.slice(i)),
    ),
);

export function fuzzParsers(runs: number, seed?: number): FuzzResult[] {
  const params = seed === undefined ? { numRuns: runs } : { numRuns: runs, seed };
  const results: FuzzResult[] = [];
  const check = (name: string, prop: fc.IProperty<never> | fc.IPropertyWithHooks<never>): void => {
    fc.assert(prop as fc.IProperty<unknown>, params);
    results.push({ name, runs });
  };
  const request = Buffer.from(REQUEST);

  check(
    'rtsp framer',
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u)),
        mutated(request),
      ),
      fc.nat(40),
      (bytes, step) => {
        onlyParseError(() => {
          const framer = new RtspFramer();
          const n = step + 1;
          for (let i = 0; i < bytes.length; i += n) framer.push(bytes.subarray(i, i + n));
        });
      },
    ) as never,
  );
  const headers: [string, (v: string) => unknown][] = [
    ['Transport', rtsp.parseTransport],
    ['Session', rtsp.parseSession],
    ['Range', rtsp.parseRange],
    ['RTP-Info', rtsp.parseRtpInfo],
    ['Authorization', rtsp.parseAuthorization],
    ['WWW-Authenticate', rtsp.parseWwwAuthenticate],
    ['CSeq', rtsp.parseCSeq],
    ['Scale', rtsp.parseScale],
    ['Speed', rtsp.parseSpeed],
    ['URL', rtsp.parseRtspUrl],
  ];
  for (const [name, parse] of headers) {
    check(`header ${name}`, fc.property(headerText, (v) => onlyParseError(() => parse(v))) as never);
  }
  const sdp = Buffer.from(
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns= \r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkAoC/5,aMuMsg==\r\na=control:trackID=0\r\n',
  );
  check(
    'sdp',
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 400 }),
        mutated(sdp).map((b) => b.toString('latin1')),
      ),
      (text) => onlyParseError(() => parseSdp(text)),
    ) as never,
  );
  const rtp = Buffer.from('80e01234000000640000000167640028acd9', 'hex');
  check(
    'rtp',
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 100 }).map((u) => Buffer.from(u)),
        mutated(rtp),
      ),
      (b) => onlyParseError(() => parseRtpPacket(b)),
    ) as never,
  );
  const rtcp = Buffer.from('80c80006000000010000000000000000000000000000000000000000', 'hex');
  check(
    'rtcp',
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 120 }).map((u) => Buffer.from(u)),
        mutated(rtcp),
      ),
      (b) => onlyParseError(() => parseRtcpCompound(b)),
    ) as never,
  );
  check(
    'http tunnel',
    fc.property(fc.uint8Array({ maxLength: 300 }), (u) => {
      onlyParseError(() => parseTunnelRequest(Buffer.from(u)));
      onlyParseError(() => new Base64StreamDecoder().push(Buffer.from(u)));
    }) as never,
  );
  for (const [enc, rate, fmtp] of [
    ['H264', 90000, { 'packetization-mode': '1' }],
    ['H265', 90000, {}],
    [
      'MPEG4-GENERIC',
      48000,
      { mode: 'AAC-hbr', sizelength: '13', indexlength: '3', indexdeltalength: '3', config: '1190' },
    ],
    ['OPUS', 48000, {}],
    ['PCMU', 8000, {}],
    ['JPEG', 90000, {}],
  ] as const) {
    check(
      `depacketizer ${enc}`,
      fc.property(
        fc.array(
          fc.record({
            payload: fc.uint8Array({ maxLength: 200 }),
            marker: fc.boolean(),
            seq: fc.nat(0xffff),
            ts: fc.nat(0xffffffff),
          }),
          {
            maxLength: 20,
          },
        ),
        (packets) => {
          const d = createDepacketizer(enc, rate, fmtp);
          for (const p of packets)
            d.push({
              payload: Buffer.from(p.payload),
              marker: p.marker,
              sequenceNumber: p.seq,
              timestamp: p.ts,
            });
        },
      ) as never,
    );
  }
  return results;
}
