import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import { parseSdp } from './parse.js';
import { serializeSdp } from './serialize.js';
import { parseFmtp, serializeFmtp } from './fmtp.js';
import type {
  Attribute,
  Bandwidth,
  Connection,
  ExtraLine,
  MediaDescription,
  Origin,
  SessionDescription,
  TimeDescription,
} from './types.js';

// --- generators for the canonical domain: what serializeSdp writes and parseSdp reads back unchanged ---

const PRINTABLE = [
  ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
  'é',
  'ß',
  '日',
  '\t',
];
const VISIBLE = PRINTABLE.filter((c) => c !== ' ' && c !== '\t');

/** Free text: no line breaks, no trailing whitespace (the parser trims it). */
const text = fc
  .string({ unit: fc.constantFrom(...PRINTABLE), maxLength: 20 })
  .filter((s) => s === s.trimEnd());
const nonBlankText = text.filter((s) => s.trim() !== '');
const token = fc.string({ unit: fc.constantFrom(...VISIBLE), minLength: 1, maxLength: 10 });
const nat = (max: number): fc.Arbitrary<number> => fc.integer({ min: 0, max });

const origin: fc.Arbitrary<Origin> = fc.record(
  {
    username: token,
    sessionId: token,
    sessionVersion: token,
    netType: token,
    addrType: token,
    unicastAddress: token,
  },
  { noNullPrototype: true },
);
const connection: fc.Arbitrary<Connection> = fc.record(
  { netType: token, addrType: token, address: token },
  { noNullPrototype: true },
);
const bandwidth: fc.Arbitrary<Bandwidth> = fc.record(
  {
    type: token.filter((t) => !t.includes(':')),
    bandwidth: nat(2 ** 40),
  },
  { noNullPrototype: true },
);
const time: fc.Arbitrary<TimeDescription> = fc.record(
  {
    startTime: nat(2 ** 40),
    stopTime: nat(2 ** 40),
    repeats: fc.array(nonBlankText, { maxLength: 2 }),
  },
  { noNullPrototype: true },
);
const attribute: fc.Arbitrary<Attribute> = fc.record(
  { name: token.filter((t) => !t.includes(':')), value: text },
  { requiredKeys: ['name'], noNullPrototype: true },
);
const extra = (letters: string): fc.Arbitrary<ExtraLine> =>
  fc.record({ type: fc.constantFrom(...Array.from(letters)), value: text }, { noNullPrototype: true });
// Letters the parser cannot place at that level, so it keeps them as extra lines.
const SESSION_EXTRA = 'dfghjlnqwxyDXZ';
const MEDIA_EXTRA = 'vosuepxtrzXY';

const media: fc.Arbitrary<MediaDescription> = fc.record(
  {
    type: token,
    port: nat(65535),
    portCount: nat(1000),
    protocol: token,
    formats: fc.array(token, { maxLength: 4 }),
    information: text,
    connections: fc.array(connection, { maxLength: 2 }),
    bandwidths: fc.array(bandwidth, { maxLength: 2 }),
    key: text,
    attributes: fc.array(attribute, { maxLength: 6 }),
    extraLines: fc.array(extra(MEDIA_EXTRA), { maxLength: 2 }),
  },
  {
    noNullPrototype: true,
    requiredKeys: [
      'type',
      'port',
      'protocol',
      'formats',
      'connections',
      'bandwidths',
      'attributes',
      'extraLines',
    ],
  },
);

const session: fc.Arbitrary<SessionDescription> = fc.record(
  {
    version: nat(999),
    origin,
    sessionName: text,
    information: text,
    uri: text,
    emails: fc.array(text, { maxLength: 2 }),
    phones: fc.array(text, { maxLength: 2 }),
    connection,
    bandwidths: fc.array(bandwidth, { maxLength: 2 }),
    times: fc.array(time, { maxLength: 3 }),
    timeZones: text,
    key: text,
    attributes: fc.array(attribute, { maxLength: 6 }),
    media: fc.array(media, { maxLength: 3 }),
    extraLines: fc.array(extra(SESSION_EXTRA), { maxLength: 2 }),
  },
  {
    noNullPrototype: true,
    requiredKeys: [
      'version',
      'sessionName',
      'emails',
      'phones',
      'bandwidths',
      'times',
      'attributes',
      'media',
      'extraLines',
    ],
  },
);

test('property: parseSdp(serializeSdp(x)) deep-equals x', () => {
  fc.assert(
    fc.property(session, (sd) => {
      assert.deepEqual(parseSdp(serializeSdp(sd)), sd);
    }),
    { numRuns: 500 },
  );
});

/** Splits serialized SDP into its session block and one block per m= section (m= line first). */
function sections(textSdp: string): string[][] {
  const out: string[][] = [[]];
  for (const line of textSdp.split('\r\n').slice(0, -1)) {
    if (line.startsWith('m=')) out.push([line]);
    else out[out.length - 1]!.push(line);
  }
  return out;
}

test('property: lines shuffled within their section still round-trip byte for byte', () => {
  // r= lines must stay after their t=, so this uses descriptions without repeats.
  const noRepeats = session.map((sd) => ({ ...sd, times: sd.times.map((t) => ({ ...t, repeats: [] })) }));
  fc.assert(
    fc.property(noRepeats, fc.infiniteStream(fc.nat()), (sd, rand) => {
      const blocks = sections(serializeSdp(sd)).map((block, i) => {
        const head = i === 0 ? [] : block.slice(0, 1);
        const body = i === 0 ? block.slice() : block.slice(1);
        const it = rand[Symbol.iterator]();
        for (let k = body.length - 1; k > 0; k--) {
          const j = (it.next().value as number) % (k + 1);
          [body[k], body[j]] = [body[j]!, body[k]!];
        }
        return [...head, ...body];
      });
      const shuffled = blocks
        .flat()
        .map((l) => `${l}\r\n`)
        .join('');
      const parsed = parseSdp(shuffled);
      assert.equal(serializeSdp(parsed), shuffled);
      assert.deepEqual(parseSdp(serializeSdp(parsed)), parsed);
    }),
    { numRuns: 300 },
  );
});

/** Throws only ParseError; when it parses, serializing and parsing again is a fixed point. */
function checkArbitrary(input: string): void {
  let sd: SessionDescription;
  try {
    sd = parseSdp(input);
  } catch (e) {
    assert.ok(e instanceof ParseError, `non-ParseError ${String(e)}`);
    return;
  }
  const again = parseSdp(serializeSdp(sd));
  assert.deepEqual(again, sd);
}

test('property: parseSdp on arbitrary strings throws only ParseError', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), checkArbitrary), { numRuns: 1000 });
});

test('property: SDP-shaped line soups parse to a fixed point or throw ParseError', () => {
  const value = fc.oneof(
    fc.string({
      unit: fc.constantFrom(...PRINTABLE, ':', '/', '=', ' ', '\0', '\u00a0', '\uFEFF'),
      maxLength: 24,
    }),
    fc.constantFrom(
      '0',
      '- 1 1 IN IP4 127.0.0.1',
      'IN IP4 0.0.0.0',
      'AS:128',
      '0 0',
      '7d 1h 0 25h',
      'video 0 RTP/AVP 96',
      'audio 0 RTP/AVP 0 8',
      'rtpmap:96 H264/90000',
      'control:trackID=1',
      'recvonly',
      ' ',
    ),
  );
  const line = fc.tuple(
    fc.constantFrom(...Array.from('vosiuepcbtrzkamxVA')),
    fc.constantFrom('=', ' =', '='),
    value,
  );
  const soup = fc.tuple(
    fc.array(line, { maxLength: 25 }),
    fc.array(fc.constantFrom('\r\n', '\n', '\r', '\r\n\r\n', ' \n'), { minLength: 25, maxLength: 25 }),
  );
  fc.assert(
    fc.property(soup, ([lines, ends]) => {
      checkArbitrary(lines.map(([t, eq, v], i) => `${t}${eq}${v}${ends[i]!}`).join(''));
    }),
    { numRuns: 1500 },
  );
});

test('property: fmtp parameters round-trip', () => {
  const key = fc.string({
    unit: fc.constantFrom(...VISIBLE.filter((c) => c !== ';' && c !== '=')),
    minLength: 1,
    maxLength: 12,
  });
  const val = fc.string({ unit: fc.constantFrom(...VISIBLE.filter((c) => c !== ';')), maxLength: 30 });
  fc.assert(
    fc.property(
      fc.nat(127),
      fc.uniqueArray(fc.tuple(key, val), { maxLength: 6, selector: ([k]) => k.toLowerCase() }),
      (pt, pairs) => {
        const f = parseFmtp(serializeFmtp(pt, pairs));
        assert.equal(f.format, String(pt));
        assert.deepEqual(f.params.entries(), pairs);
      },
    ),
  );
});
