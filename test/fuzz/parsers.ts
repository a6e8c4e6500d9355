/**
 * Property fuzzing of every parser that reads untrusted bytes or text (src/rtsp, src/sdp, src/rtp,
 * src/auth, src/format, src/codec): each either returns a value or throws ParseError, never anything
 * else; depacketizers never throw at all. Each property names the functions it reaches (`covers`), and
 * test/fuzz.test.ts checks that every exported parser of those folders is covered.
 */
import fc from 'fast-check';
import { isParseError } from '../../src/base/errors.js';
import { RtspFramer } from '../../src/rtsp/framer.js';
import * as rtsp from '../../src/rtsp/index.js';
import { parseDecimal } from '../../src/rtsp/syntax.js';
import { Base64StreamDecoder, parseTunnelRequest } from '../../src/rtsp/tunnel.js';
import { parseSdp } from '../../src/sdp/parse.js';
import { parseFmtp, parseFmtpParams } from '../../src/sdp/fmtp.js';
import { parseRtpmap } from '../../src/sdp/formats.js';
import * as sdpAttributes from '../../src/sdp/attributes.js';
import * as rtpPacket from '../../src/rtp/packet.js';
import { parseRtcpCompound } from '../../src/rtp/rtcp.js';
import { parseOnvifReplayExtension } from '../../src/rtp/onvif-replay.js';
import { parseDigestChallenge } from '../../src/auth/digest.js';
import { parseStoredPassword } from '../../src/auth/password.js';
import { compilePathPattern } from '../../src/auth/access.js';
import {
  checkNonce,
  createNonce,
  digestUriMatches,
  nonceStampMs,
  parseBasicAuthorization,
  parseDigestAuthorization,
  verifyDigest,
} from '../../src/auth/server.js';
import { createDepacketizer } from '../../src/format/registry.js';
import { parseFmtpParameters } from '../../src/format/common.js';
import { parseH264Fmtp } from '../../src/format/h264.js';
import { parseH265Fmtp } from '../../src/format/h265.js';
import { parseAacFmtp } from '../../src/format/aac.js';
import { parseOpusFmtp } from '../../src/format/opus.js';
import { readAggregate } from '../../src/format/nal-common.js';
import { parseAdtsHeader, parseAudioSpecificConfig } from '../../src/codec/aac.js';
import {
  parseAvcDecoderConfigurationRecord,
  parseH264Sps,
  parseSpropParameterSets,
} from '../../src/codec/h264.js';
import {
  parseH265NalHeader,
  parseH265Sps,
  parseHevcDecoderConfigurationRecord,
} from '../../src/codec/h265.js';
import { parseJpeg } from '../../src/codec/jpeg.js';
import { parseSpropList } from '../../src/codec/nal.js';
import { avc1Entry, fragment, initSegment, mp4aEntry } from '../../src/container/fmp4/boxes.js';
import { prftBox } from '../../src/container/fmp4/prft.js';
import { readInitSampleEntries } from '../../src/container/fmp4/sample-entries.js';
import { indexFmp4Buffer, parseFmp4Moof, parseFmp4Moov, parsePrft } from '../../src/container/fmp4/reader.js';
import { buildAvcDecoderConfigurationRecord } from '../../src/codec/h264.js';
import { RtspClientError } from '../../src/client/errors.js';
import { multicastPlaceOf } from '../../src/client/multicast.js';
import { parseAdobeConnectParams } from '../../src/flv/adobe-auth.js';
import { amf0Object, decodeAmf0, encodeAmf0, encodeAmf0EcmaArray } from '../../src/flv/amf0.js';
import { ChunkReader, ChunkWriter, parseSetChunkSize } from '../../src/flv/chunk.js';
import { clientDigestC0C1, findClientDigest, serverHandshakeReply } from '../../src/flv/handshake.js';
import {
  commandMessage,
  parseCommand,
  parseControlValue,
  parseDataMessage,
  parseUserControl,
} from '../../src/flv/messages.js';
import { parseAudioTag, parseOpusHead, parseVideoTag } from '../../src/flv/tags.js';

export interface FuzzResult {
  name: string;
  runs: number;
  /** The exported functions (and depacketizer classes) this property reaches directly. */
  covers: unknown[];
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

/** Random bytes, or one of `seeds` mutated. */
function bytesNear(maxLength: number, ...seeds: Buffer[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.uint8Array({ maxLength }).map((u) => Buffer.from(u)),
    ...seeds.map(mutated),
  );
}

/** Random text, printable text, or one of `seeds` with a few characters inserted. */
function textNear(...seeds: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.stringMatching(/^[ -~]{0,120}$/),
    fc
      .constantFrom(...seeds)
      .chain((s) =>
        fc
          .tuple(fc.constant(s), fc.nat(s.length), fc.string({ maxLength: 5 }), fc.nat(s.length))
          .map(([t, i, ins, cut]) => (t.slice(0, i) + ins + t.slice(i)).slice(0, Math.max(cut, i + 1))),
      ),
  );
}

const HEADER_SEEDS = [
  'RTP/AVP;unicast;client_port=5000-5001',
  'RTP/AVP/TCP;interleaved=0-1;mode=record',
  'RTP/AVP;multicast;destination=239.255.0.1;port=8002-8003;ttl=16',
  'intra/4000',
  'token=abc&start=2026-12-06T10:15:00.5+01:00&end=20261206T101600Z',
  'start=2026-12-06T10:15:00Z&duration=30',
  'npt=0.000-10.5',
  'smpte=10:07:00-10:07:33:05.01',
  'clock=19961108T142300Z-19961108T143520Z',
  'url=rtsp://h/a/trackID=0;seq=1;rtptime=2,url=rtsp://h/a/trackID=1;seq=3',
  'Digest username="u", realm="r", nonce="n", uri="/", response="0123"',
  'Digest username="alice", realm="rtspkit", nonce="AAABi8_laAAJCQkJCQkJCQkJCQnbAQI4RqlArBAuBS2wbf9c", uri="rtsp://127.0.0.1/x", response="a5719927086d389c0bc5338723d98b39", algorithm="MD5", qop="auth", cnonce="9f7f6eba7fb36de6", nc=00000001',
  'Digest realm="rtspkit", nonce="abc", qop="auth,auth-int", algorithm=SHA-256, stale=true, userhash=true',
  'Basic dXNlcjpwYXNz',
  'Basic realm="rtspkit", charset="UTF-8"',
  '12345678;timeout=60',
  'rtsp://user:p%40ss@[::1]:554/live/cam?token=a#x',
  'OPTIONS, DESCRIBE, SETUP, x-foo',
  '1.5',
  '00042',
];

const SDP_SEEDS = [
  'npt=0-10.5',
  'npt=now-',
  'npt=0.-21-',
  'npt=-1.-500-',
  'clock=19961108T142300Z-',
  '96 H264/90000',
  '97 MPEG4-GENERIC/48000/2',
  '96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkAoC/5,aMuMsg==;profile-level-id=42C01E',
  '97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190',
  '98 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwBdlZgJ;sprop-sps=QgEBAWAAAAMAkAAAAwAAAwBdoAKAgC0WWVmkkyvAQ;sprop-pps=RAHBcrAiQA==',
  '111 minptime=10;useinbandfec=1;stereo=1',
];

const FMTP_KEYS = [
  'packetization-mode',
  'sprop-parameter-sets',
  'profile-level-id',
  'sprop-vps',
  'sprop-sps',
  'sprop-pps',
  'sprop-max-don-diff',
  'mode',
  'sizelength',
  'indexlength',
  'indexdeltalength',
  'config',
  'constantsize',
  'streamtype',
  'stereo',
  'sprop-stereo',
  'maxplaybackrate',
];

/** An fmtp parameter map as a depacketizer or fmtp reader gets it from an SDP. */
const fmtpRecord: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.oneof(fc.constantFrom(...FMTP_KEYS), fc.string({ maxLength: 8 })),
  fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.integer({ min: -2, max: 70000 }).map(String),
    fc.stringMatching(/^[A-Za-z0-9+/=,]{0,40}$/),
    fc.constantFrom('AAC-hbr', 'AAC-lbr', '1190', '119056E500', 'Z0LAHtkAoC/5,aMuMsg==', '13', '6'),
  ),
  { maxKeys: 8 },
);

const SECRET = Buffer.alloc(32, 7);
const NOW_MS = 1_700_000_000_000;
const NONCE = createNonce(SECRET, NOW_MS, Buffer.alloc(12, 9));

export function fuzzParsers(runs: number, seed?: number): FuzzResult[] {
  const params = seed === undefined ? { numRuns: runs } : { numRuns: runs, seed };
  const results: FuzzResult[] = [];
  const check = (
    name: string,
    covers: unknown[],
    prop: fc.IProperty<never> | fc.IPropertyWithHooks<never>,
  ): void => {
    fc.assert(prop as fc.IProperty<unknown>, params);
    results.push({ name, runs, covers });
  };
  const text = (name: string, seeds: string[], parse: (v: string) => unknown, covers: unknown[]) =>
    check(name, covers, fc.property(textNear(...seeds), (v) => onlyParseError(() => parse(v))) as never);

  // ---- RTSP framing: requests, replies and interleaved frames in chunks of any size ----
  const request = Buffer.from(REQUEST);
  const interleaved = Buffer.concat([
    Buffer.from([0x24, 0, 0, 12]),
    Buffer.from('80e01234000000640000000a', 'hex'),
    request,
  ]);
  const reply = Buffer.from(
    'RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 3\r\n\r\nv=0',
  );
  check(
    'rtsp framer',
    [rtsp.RtspFramer],
    fc.property(bytesNear(600, request, interleaved, reply), fc.nat(40), (bytes, step) => {
      onlyParseError(() => {
        const framer = new RtspFramer();
        const n = step + 1;
        for (let i = 0; i < bytes.length; i += n) framer.push(bytes.subarray(i, i + n));
      });
    }) as never,
  );

  // ---- RTSP header fields (RFC 2326 §12) ----
  const headers: [string, (v: string) => unknown, unknown[]][] = [
    ['Transport', rtsp.parseTransport, [rtsp.parseTransport, rtsp.parseTransportSpec]],
    ['Session', rtsp.parseSession, [rtsp.parseSession, rtsp.parseSessionHeader]],
    ['Range', rtsp.parseRange, [rtsp.parseRange]],
    ['npt time', rtsp.parseNptTime, [rtsp.parseNptTime]],
    ['smpte time', rtsp.parseSmpteTime, [rtsp.parseSmpteTime]],
    ['utc time', rtsp.parseUtcTime, [rtsp.parseUtcTime]],
    ['RTP-Info', rtsp.parseRtpInfo, [rtsp.parseRtpInfo]],
    ['Authorization', rtsp.parseAuthorization, [rtsp.parseAuthorization]],
    ['WWW-Authenticate', rtsp.parseWwwAuthenticate, [rtsp.parseWwwAuthenticate]],
    ['CSeq', rtsp.parseCSeq, [rtsp.parseCSeq]],
    ['Scale', rtsp.parseScale, [rtsp.parseScale]],
    ['Speed', rtsp.parseSpeed, [rtsp.parseSpeed]],
    [
      'Public/Require/Unsupported',
      rtsp.parseTokenList,
      [rtsp.parseTokenList, rtsp.parsePublic, rtsp.parseRequire, rtsp.parseUnsupported],
    ],
    ['Content-Base', rtsp.parseContentBase, [rtsp.parseContentBase]],
    ['Content-Location', rtsp.parseContentLocation, [rtsp.parseContentLocation]],
    ['Location', rtsp.parseLocation, [rtsp.parseLocation]],
    ['URL', rtsp.parseRtspUrl, [rtsp.parseRtspUrl]],
    ['decimal', (v) => parseDecimal(v), [parseDecimal]],
    ['Rate-Control', rtsp.parseRateControl, [rtsp.parseRateControl]],
    ['Frames', rtsp.parseFrames, [rtsp.parseFrames]],
    ['playback query', rtsp.parsePlaybackQuery, [rtsp.parsePlaybackQuery, rtsp.parseIsoTime]],
  ];
  for (const [name, parse, covers] of headers) text(`header ${name}`, HEADER_SEEDS, parse, covers);
  // The client's check of a multicast SETUP reply (src/client/multicast.ts): a place or BAD_TRANSPORT.
  text(
    'client multicast reply',
    HEADER_SEEDS,
    (v) => {
      for (const spec of rtsp.parseTransport(v)) {
        try {
          multicastPlaceOf(spec, 'rtsp://127.0.0.1/x', new Set(['239.255.0.1:8002']));
        } catch (e) {
          if (!(e instanceof RtspClientError && e.code === 'BAD_TRANSPORT')) throw e;
        }
      }
    },
    [multicastPlaceOf],
  );
  check(
    'http tunnel',
    [parseTunnelRequest, Base64StreamDecoder],
    fc.property(
      bytesNear(
        300,
        Buffer.from(
          'GET /live RTSP/1.0\r\nx-sessioncookie: abc\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n',
        ),
        Buffer.from(
          'POST /live HTTP/1.0\r\nx-sessioncookie: abc\r\nContent-Length: 32767\r\n\r\nT1BUSU9OUw==',
        ),
      ),
      (u) => {
        onlyParseError(() => parseTunnelRequest(u));
        onlyParseError(() => new Base64StreamDecoder().push(u));
      },
    ) as never,
  );

  // ---- authentication: credentials and challenges as a client or attacker sends them ----
  text(
    'auth Digest credentials',
    HEADER_SEEDS,
    (v) => {
      const d = parseDigestAuthorization(rtsp.parseAuthorization(v));
      // The whole server check on what parsed: never throws, whatever the fields hold.
      for (const nonce of ['valid', 'stale', 'invalid'] as const)
        verifyDigest({
          method: 'DESCRIBE',
          requestUri: 'rtsp://127.0.0.1/x',
          realm: 'rtspkit',
          authorization: d,
          secret: { password: 'pw' },
          nonce,
        });
    },
    [parseDigestAuthorization, verifyDigest],
  );
  text('auth Basic credentials', HEADER_SEEDS, (v) => parseBasicAuthorization(rtsp.parseAuthorization(v)), [
    parseBasicAuthorization,
    rtsp.decodeBasicCredentials,
  ]);
  text('auth Digest challenge', HEADER_SEEDS, (v) => rtsp.parseWwwAuthenticate(v).map(parseDigestChallenge), [
    parseDigestChallenge,
  ]);
  text(
    'auth nonce',
    [NONCE, NONCE.slice(1), `${NONCE.slice(0, -1)}A`],
    (v) => {
      checkNonce(SECRET, v, NOW_MS, 600_000);
      nonceStampMs(SECRET, v);
    },
    [checkNonce, nonceStampMs],
  );
  check(
    'auth digest uri match',
    [digestUriMatches],
    fc.property(
      textNear(...HEADER_SEEDS, '*', '/x/trackID=0'),
      textNear('rtsp://127.0.0.1/x', '*'),
      (a, b) => {
        digestUriMatches(a, b, 'DESCRIBE');
        digestUriMatches(a, b, 'OPTIONS');
      },
    ) as never,
  );
  // From the config rather than the network, but a typo must give a clear error, not a crash.
  text(
    'auth stored password',
    ['scrypt:AAAAAAAAAAAAAAAAAAAAAA==:AAAA', 'digest:0123:4567', 'digest-md5:x', 'sha256:ab', 'plain:x'],
    parseStoredPassword,
    [parseStoredPassword],
  );
  text(
    'auth path pattern',
    ['cam*', 'site/**', '**/b', 'a?c', '~^cam[0-9]+$', '~('],
    // Regexes (`~`) are trusted config: only their compile error is checked, on a short input.
    (v) => compilePathPattern(v)('site/cam1'),
    [compilePathPattern],
  );

  // ---- SDP (RFC 8866) and its attributes ----
  const sdp = Buffer.from(
    'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns= \r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\na=range:npt=0-10\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAHtkAoC/5,aMuMsg==\r\na=control:trackID=0\r\nm=audio 0 RTP/AVP 97\r\nb=AS:64\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\na=fmtp:97 mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1190\r\n',
  );
  check(
    'sdp',
    [parseSdp],
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 400 }),
        mutated(sdp).map((b) => b.toString('latin1')),
      ),
      (t) => onlyParseError(() => parseSdp(t)),
    ) as never,
  );
  text('sdp a=range', SDP_SEEDS, sdpAttributes.parseRange, [sdpAttributes.parseRange]);
  text('sdp npt time', SDP_SEEDS, sdpAttributes.parseNptTime, [sdpAttributes.parseNptTime]);
  text('sdp a=rtpmap', SDP_SEEDS, parseRtpmap, [parseRtpmap]);
  text('sdp a=fmtp', SDP_SEEDS, parseFmtp, [parseFmtp]);
  text('sdp fmtp parameters', SDP_SEEDS, parseFmtpParams, [parseFmtpParams]);
  text('format fmtp parameters', SDP_SEEDS, parseFmtpParameters, [parseFmtpParameters]);
  check(
    'format fmtp readers',
    [parseH264Fmtp, parseH265Fmtp, parseAacFmtp, parseOpusFmtp],
    fc.property(fmtpRecord, (f) => {
      for (const parse of [parseH264Fmtp, parseH265Fmtp, parseAacFmtp, parseOpusFmtp])
        onlyParseError(() => parse(f));
    }) as never,
  );

  // ---- RTP and RTCP (RFC 3550, RFC 8285) ----
  const rtp = Buffer.from('80e01234000000640000000167640028acd9', 'hex');
  const rtpExt = Buffer.from('90e01234000000640000000abede0002102233440500000067640028', 'hex');
  check(
    'rtp',
    [
      rtpPacket.parseRtpPacket,
      rtpPacket.parseRtpExtensionElements,
      rtpPacket.readRtpHeader,
      rtpPacket.readRtpMarker,
      rtpPacket.readRtpPayload,
      rtpPacket.readRtpPayloadLength,
      rtpPacket.readRtpPayloadType,
      rtpPacket.readRtpSequence,
      rtpPacket.readRtpSsrc,
      rtpPacket.readRtpTimestamp,
    ],
    fc.property(bytesNear(100, rtp, rtpExt), (b) =>
      onlyParseError(() => {
        // Where a packet enters the server: any bytes at all, never a throw.
        rtpPacket.readRtpHeader(b);
        const p = rtpPacket.parseRtpPacket(b);
        if (p.extension !== undefined) rtpPacket.parseRtpExtensionElements(p.extension);
        // The fast readers run on what parseRtpPacket accepted (the relay's hot path checks first).
        rtpPacket.readRtpMarker(b);
        rtpPacket.readRtpPayload(b);
        rtpPacket.readRtpPayloadLength(b);
        rtpPacket.readRtpPayloadType(b);
        rtpPacket.readRtpSequence(b);
        rtpPacket.readRtpSsrc(b);
        rtpPacket.readRtpTimestamp(b);
      }),
    ) as never,
  );
  const rtcp = Buffer.from(
    '80c80006000000010000000000000000000000000000000000000000' + '81ca0003000000010103616263000000',
    'hex',
  );
  check(
    'rtcp',
    [parseRtcpCompound],
    fc.property(bytesNear(160, rtcp), (b) => onlyParseError(() => parseRtcpCompound(b))) as never,
  );

  // ---- codec bitstreams carried in SDP and RTP (parameter sets, configs, JPEG headers) ----
  const sps = Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64');
  const h265sps = Buffer.from('QgEBAWAAAAMAkAAAAwAAAwBdoAKAgC0WWVmkkyvAQ', 'base64');
  const asc = Buffer.from('119056e500', 'hex');
  const adts = Buffer.from('fff15080021ffc210049', 'hex');
  const jpeg = Buffer.from(
    `ffd8ffdb004300${'10'.repeat(64)}ffc0000b080010001001011100ffda0008010100003f00ffd9`,
    'hex',
  );
  const bitstreams: [string, (b: Buffer) => unknown, Buffer[], unknown][] = [
    ['codec H.264 SPS', parseH264Sps, [sps], parseH264Sps],
    ['codec H.265 SPS', parseH265Sps, [h265sps], parseH265Sps],
    ['codec H.265 NAL header', parseH265NalHeader, [h265sps], parseH265NalHeader],
    ['codec AudioSpecificConfig', parseAudioSpecificConfig, [asc], parseAudioSpecificConfig],
    ['codec ADTS header', parseAdtsHeader, [adts], parseAdtsHeader],
    ['codec JPEG', parseJpeg, [jpeg], parseJpeg],
    [
      'codec avcC',
      parseAvcDecoderConfigurationRecord,
      [Buffer.from('0142c01effe1', 'hex')],
      parseAvcDecoderConfigurationRecord,
    ],
    [
      'codec hvcC',
      parseHevcDecoderConfigurationRecord,
      [Buffer.alloc(23, 1)],
      parseHevcDecoderConfigurationRecord,
    ],
    [
      'format aggregation packet',
      (b) => readAggregate(b, 1),
      [Buffer.from('1800046742c01e000268ce', 'hex')],
      readAggregate,
    ],
  ];
  for (const [name, parse, seeds, covers] of bitstreams)
    check(
      name,
      [covers],
      fc.property(bytesNear(200, ...seeds), (b) => onlyParseError(() => parse(b))) as never,
    );
  text('codec sprop-parameter-sets', SDP_SEEDS, parseSpropParameterSets, [parseSpropParameterSets]);
  text('codec sprop list', SDP_SEEDS, parseSpropList, [parseSpropList]);

  // ---- depacketizers: any fmtp, then any packets ----
  check(
    'depacketizer setup from fmtp',
    [createDepacketizer],
    fc.property(
      fc.constantFrom('H264', 'H265', 'MPEG4-GENERIC', 'OPUS', 'PCMU', 'PCMA', 'JPEG', 'X'),
      fmtpRecord,
      (enc, f) => onlyParseError(() => createDepacketizer(enc, 90000, f)),
    ) as never,
  );
  const FIRST_BYTES: Record<string, number[][]> = {
    // STAP-A, FU-A start/middle/end, IDR, SPS; RFC 6184 §5.
    H264: [[0x18], [0x7c, 0x85], [0x7c, 0x05], [0x7c, 0x45], [0x65], [0x67]],
    // AP, FU start/end, PACI, IDR; RFC 7798 §4.4.
    H265: [
      [0x60, 0x01],
      [0x62, 0x01, 0x93],
      [0x62, 0x01, 0x53],
      [0x64, 0x01],
      [0x26, 0x01],
    ],
    // AU-headers-length 16 bits (one header), RFC 3640 §3.2.1.
    'MPEG4-GENERIC': [
      [0x00, 0x10],
      [0x00, 0x20],
      [0xff, 0xff],
    ],
    // JPEG main header with and without restart/quantization headers, RFC 2435 §3.1.
    JPEG: [
      [0, 0, 0, 0, 1, 255, 8, 8],
      [0, 0, 0, 0, 64, 128, 8, 8],
    ],
  };
  for (const [enc, rate, fmtp] of [
    ['H264', 90000, { 'packetization-mode': '1', 'sprop-parameter-sets': 'Z0LAHtkAoC/5,aMuMsg==' }],
    ['H264', 90000, { 'packetization-mode': '0' }],
    ['H265', 90000, {}],
    [
      'MPEG4-GENERIC',
      48000,
      { mode: 'AAC-hbr', sizelength: '13', indexlength: '3', indexdeltalength: '3', config: '1190' },
    ],
    ['MPEG4-GENERIC', 16000, { mode: 'AAC-lbr', sizelength: '6', indexlength: '2', indexdeltalength: '2' }],
    ['OPUS', 48000, {}],
    ['PCMU', 8000, {}],
    ['PCMA', 8000, {}],
    ['JPEG', 90000, {}],
  ] as const) {
    const d0 = createDepacketizer(enc, rate, fmtp);
    const heads = FIRST_BYTES[enc] ?? [[]];
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc
        .tuple(fc.constantFrom(...heads), fc.uint8Array({ maxLength: 200 }))
        .map(([h, rest]) => Uint8Array.from([...h, ...rest])),
    );
    check(
      `depacketizer ${enc}${fmtp.mode !== undefined ? ` ${fmtp.mode}` : ''}${fmtp['packetization-mode'] === '0' ? ' mode 0' : ''}`,
      [d0.constructor],
      fc.property(
        fc.array(fc.record({ payload, marker: fc.boolean(), seq: fc.nat(0xffff), ts: fc.nat(0xffffffff) }), {
          maxLength: 20,
        }),
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

  check(
    'ONVIF replay extension',
    [parseOnvifReplayExtension],
    fc.property(
      fc.nat(0xffff),
      bytesNear(24, Buffer.from('ebcd123480000000a02a0000', 'hex')),
      (profile, data) => {
        onlyParseError(() => parseOnvifReplayExtension({ profile: profile % 2 ? 0xabac : profile, data }));
      },
    ) as never,
  );
  // ---- RTMP (src/flv): the chunk stream, AMF0, commands, control messages, FLV tags, the handshake ----
  const connect = commandMessage(0, 'connect', 1, amf0Object({ app: 'live', tcUrl: 'rtmp://h/live' }));
  const chunked = Buffer.concat([
    ...new ChunkWriter().serialize({
      ...connect,
      payload: Buffer.concat([connect.payload, Buffer.alloc(300, 5)]),
    }),
    ...new ChunkWriter().serialize({
      chunkStreamId: 2,
      timestamp: 0x1000000,
      typeId: 1,
      messageStreamId: 0,
      payload: Buffer.from([0, 0, 0x10, 0]),
    }),
  ]);
  check(
    'rtmp chunk stream',
    [ChunkReader, parseSetChunkSize],
    fc.property(bytesNear(600, chunked), fc.nat(40), (bytes, step) => {
      onlyParseError(() => {
        const reader = new ChunkReader({
          maxChunkStreams: 8,
          maxMessageBytes: 4096,
          maxReassemblyBytes: 8192,
        });
        const size = step + 1;
        for (let i = 0; i < bytes.length; i += size) reader.push(bytes.subarray(i, i + size));
      });
    }) as never,
  );
  const amf = Buffer.concat([
    connect.payload,
    encodeAmf0EcmaArray({ duration: 0, videocodecid: 7, nested: amf0Object({ a: [1, 'x', null] }) }),
    encodeAmf0(new Date(0), undefined, true),
  ]);
  check(
    'rtmp amf0 and commands',
    [decodeAmf0, parseCommand, parseDataMessage],
    fc.property(bytesNear(400, amf), fc.boolean(), (bytes, amf3) => {
      onlyParseError(() => decodeAmf0(bytes));
      onlyParseError(() => parseCommand({ typeId: amf3 ? 17 : 20, payload: bytes }));
      onlyParseError(() => parseDataMessage(bytes));
    }) as never,
  );
  check(
    'rtmp control messages and flv tags',
    [parseUserControl, parseControlValue, parseVideoTag, parseAudioTag, parseOpusHead],
    fc.property(
      bytesNear(
        64,
        Buffer.from('1701000028000000016764', 'hex'),
        Buffer.from('8068766331000000', 'hex'),
        Buffer.from('9f4f707573', 'hex'),
      ),
      (bytes) => {
        onlyParseError(() => parseUserControl(bytes));
        onlyParseError(() => parseControlValue(bytes));
        onlyParseError(() => parseVideoTag(bytes));
        onlyParseError(() => parseAudioTag(bytes));
        onlyParseError(() => parseOpusHead(bytes));
      },
    ) as never,
  );
  check(
    'rtmp adobe auth connect query',
    [parseAdobeConnectParams],
    fc.property(
      bytesNear(120, Buffer.from('authmod=adobe&user=a&challenge=0a1b2c3d&response=x+y/z==&opaque=Q-_')),
      (bytes) => {
        const p = parseAdobeConnectParams(bytes.toString('latin1'));
        if (p.user !== undefined && typeof p.user !== 'string') throw new Error('user is not a string');
      },
    ) as never,
  );
  const c0c1 = clientDigestC0C1(Buffer.alloc(1536, 7));
  check(
    'rtmp handshake',
    [serverHandshakeReply, findClientDigest],
    fc.property(mutated(c0c1), (bytes) => {
      findClientDigest(bytes.subarray(1));
      onlyParseError(() => serverHandshakeReply(bytes, Buffer.alloc(3072)));
    }) as never,
  );
  // ---- fMP4 recordings read back from disk (container/fmp4/reader.ts): a file may be cut or damaged ----
  const fmp4 = sampleFmp4();
  check(
    'fmp4 index',
    [indexFmp4Buffer, parseFmp4Moov, parseFmp4Moof, parsePrft],
    fc.property(bytesNear(400, fmp4), (bytes) => {
      onlyParseError(() => indexFmp4Buffer(bytes, { maxSamplesPerFragment: 4096 }));
    }) as never,
  );
  // The raw sample entries an export copies (container/fmp4/sample-entries.ts), from a damaged init segment.
  check(
    'fmp4 sample entries',
    [readInitSampleEntries],
    fc.property(bytesNear(400, fmp4), (bytes) => {
      onlyParseError(() => readInitSampleEntries(bytes));
    }) as never,
  );
  return results;
}

/** A small fMP4 recording: init segment (H.264 + AAC), then two parts, each `prft` + `moof` + `mdat`. */
function sampleFmp4(): Buffer {
  const avcC = buildAvcDecoderConfigurationRecord(
    [Buffer.from('Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I', 'base64')],
    [Buffer.from('aMuMsg==', 'base64')],
  );
  const parts: Buffer[] = [
    initSegment([
      { trackId: 1, handler: 'vide', timescale: 90000, sampleEntry: avc1Entry(640, 360, avcC) },
      {
        trackId: 2,
        handler: 'soun',
        timescale: 48000,
        sampleEntry: mp4aEntry(2, 48000, Buffer.from('1190', 'hex')),
      },
    ]),
  ];
  for (let f = 0; f < 2; f++) {
    parts.push(prftBox(1, 1_800_000_000_000 + f * 1000, f * 3600));
    parts.push(
      fragment(f + 1, [
        {
          trackId: 1,
          baseMediaDecodeTime: f * 3600,
          samples: [{ durationTicks: 3600, data: Buffer.alloc(9, 1), keyframe: true, compositionOffset: 0 }],
        },
        {
          trackId: 2,
          baseMediaDecodeTime: f * 1920,
          samples: [{ durationTicks: 1920, data: Buffer.alloc(5, 2), keyframe: true, compositionOffset: 0 }],
        },
      ]),
    );
  }
  return Buffer.concat(parts);
}
