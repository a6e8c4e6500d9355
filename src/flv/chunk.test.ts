import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkReader, ChunkWriter, DEFAULT_CHUNK_READER_LIMITS } from './chunk.js';
import { setChunkSizeMessage, type RtmpMessage } from './messages.js';

const msg = (over: Partial<RtmpMessage> = {}): RtmpMessage => ({
  chunkStreamId: 6,
  timestamp: 40,
  typeId: 9,
  messageStreamId: 1,
  payload: Buffer.alloc(1000, 3),
  ...over,
});

function readAll(reader: ChunkReader, bytes: Buffer, step: number): RtmpMessage[] {
  const out: RtmpMessage[] = [];
  for (let i = 0; i < bytes.length; i += step) out.push(...reader.push(bytes.subarray(i, i + step)));
  return out;
}

test('chunk stream: messages of any size, chunk size and chunk stream id come back whole, in any cut of the bytes', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          chunkStreamId: fc.oneof(
            fc.integer({ min: 3, max: 63 }),
            fc.integer({ min: 64, max: 319 }),
            fc.integer({ min: 320, max: 65599 }),
          ),
          timestamp: fc.oneof(fc.nat(0xfffffe), fc.integer({ min: 0xffffff, max: 0xffffffff })),
          typeId: fc.constantFrom(8, 9, 18, 20),
          messageStreamId: fc.nat(5),
          payload: fc.uint8Array({ maxLength: 3000 }).map((u) => Buffer.from(u)),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 700 }),
      (messages, chunkSize, step) => {
        const writer = new ChunkWriter();
        writer.chunkSize = chunkSize;
        const bytes = Buffer.concat([
          ...new ChunkWriter().serialize(setChunkSizeMessage(chunkSize)),
          ...messages.flatMap((m) => writer.serialize(m)),
        ]);
        const got = readAll(new ChunkReader(), bytes, step).slice(1);
        assert.equal(got.length, messages.length);
        got.forEach((g, i) => assert.deepEqual(g, { ...messages[i] }));
      },
    ),
    { numRuns: 200 },
  );
});

test('chunk stream: type 1, 2 and 3 headers add their deltas; interleaved chunk streams; extended timestamps on type 3', () => {
  const b = (...parts: (string | Buffer)[]): Buffer =>
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p.replace(/ /g, ''), 'hex') : p)));
  const bytes = b(
    // csid 4, type 0: ts 1000, length 3, type 8, stream 1
    '04 0003e8 000003 08 01000000',
    'aabbcc',
    // csid 6, type 0 with an extended timestamp 0x01000000, length 130 (two chunks of 128)
    '06 ffffff 000082 09 01000000 01000000',
    Buffer.alloc(128, 1),
    // csid 4, type 2: +20 ms, same length and type
    '84 000014',
    'ddeeff',
    // csid 6, type 3 continuation: repeats the extended timestamp
    'c6 01000000',
    Buffer.alloc(2, 2),
    // csid 4, type 3: a new message with the last delta (+20)
    'c4',
    '112233',
    // csid 4, type 1: +5 ms, length 1, type 9
    '44 000005 000001 09',
    '44',
  );
  for (const step of [1, 7, bytes.length]) {
    const got = readAll(new ChunkReader(), bytes, step);
    assert.deepEqual(
      got.map((m) => [m.chunkStreamId, m.timestamp, m.typeId, m.payload.length]),
      [
        [4, 1000, 8, 3],
        [4, 1020, 8, 3],
        [6, 0x01000000, 9, 130],
        [4, 1040, 8, 3],
        [4, 1045, 9, 1],
      ],
    );
  }
});

test('chunk stream: Abort drops the partial message; Set Chunk Size acts on the very next chunk', () => {
  const w = new ChunkWriter();
  const big = w.serialize(msg({ chunkStreamId: 6, payload: Buffer.alloc(300, 9) }));
  const firstChunk = Buffer.concat(big.slice(0, 4)); // basic + header + (no) extended timestamp + 128 bytes
  const abort = Buffer.concat(
    w.serialize({
      chunkStreamId: 2,
      timestamp: 0,
      typeId: 2,
      messageStreamId: 0,
      payload: Buffer.from([0, 0, 0, 6]),
    }),
  );
  const reader = new ChunkReader();
  assert.equal(reader.push(firstChunk).length, 0);
  assert.equal(reader.bufferedBytes, 300);
  reader.push(abort);
  assert.equal(reader.bufferedBytes, 0);
  const w2 = new ChunkWriter();
  w2.chunkSize = 50_000;
  const bytes = Buffer.concat([
    ...w.serialize(setChunkSizeMessage(50_000)),
    ...w2.serialize(msg({ payload: Buffer.alloc(40_000) })),
  ]);
  const got = reader.push(bytes);
  assert.equal(got.length, 2);
  assert.equal(got[1]!.payload.length, 40_000);
});

test('chunk stream: bounds and bad values throw ParseError with their codes', () => {
  const w = new ChunkWriter();
  const limits = { maxChunkStreams: 3, maxMessageBytes: 10_000, maxReassemblyBytes: 15_000 };
  // A 16 MB message length.
  const huge = Buffer.from('0600000 0ffffff 09 01000000'.replace(/ /g, ''), 'hex');
  assert.throws(() => new ChunkReader(limits).push(huge), { code: 'RTMP_MESSAGE_TOO_LARGE' });
  // Chunk size 0 and 2^31.
  for (const size of [0, 2 ** 31]) {
    const m = { chunkStreamId: 2, timestamp: 0, typeId: 1, messageStreamId: 0, payload: Buffer.alloc(4) };
    m.payload.writeUInt32BE(size);
    assert.throws(() => new ChunkReader().push(Buffer.concat(w.serialize(m))), {
      code: 'RTMP_BAD_CHUNK_SIZE',
    });
  }
  // Too many chunk streams.
  const many = Buffer.concat(
    [3, 4, 5, 7].flatMap((c) => w.serialize(msg({ chunkStreamId: c, payload: Buffer.alloc(1) }))),
  );
  assert.throws(() => new ChunkReader(limits).push(many), { code: 'RTMP_TOO_MANY_CHUNK_STREAMS' });
  // Bytes held for reassembly: two partial 9000-byte messages.
  const partial = (c: number): Buffer =>
    Buffer.concat(w.serialize(msg({ chunkStreamId: c, payload: Buffer.alloc(9000) })).slice(0, 4));
  assert.throws(() => new ChunkReader(limits).push(Buffer.concat([partial(3), partial(4)])), {
    code: 'RTMP_REASSEMBLY_FULL',
  });
  // A type-3 chunk opening a chunk stream.
  assert.throws(() => new ChunkReader().push(Buffer.from([0xc5, 1])), { code: 'RTMP_NO_PREVIOUS_HEADER' });
  assert.equal(DEFAULT_CHUNK_READER_LIMITS.maxChunkStreams, 64);
});
