import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isParseError } from '../base/errors.js';
import { amf0Object, decodeAmf0, encodeAmf0, encodeAmf0EcmaArray, type Amf0Value } from './amf0.js';

test('AMF0: a connect command as ffmpeg sends it decodes to its values', () => {
  // Byte for byte what ffmpeg 5.1 writes (rtmpproto.c gen_connect), shortened to three properties.
  const bytes = Buffer.from(
    '0200076' +
      '36f6e6e656374' + // "connect"
      '003ff0000000000000' + // 1
      '03' +
      '0003617070020004' +
      '6c697665' + // app: "live"
      '000474797065020' +
      '00a6e6f6e70726976617465' + // type: "nonprivate"
      '0005746355726c02000f' +
      '72746d703a2f2f682f6c697665' + // tcUrl
      '000009',
    'hex',
  );
  // The tcUrl above is 13 bytes; the length says 15: the decoder must refuse, not read past.
  assert.throws(() => decodeAmf0(bytes), isParseError);
  const fixed = Buffer.from(bytes);
  fixed.writeUInt16BE(13, bytes.indexOf(Buffer.from('72746d70', 'hex')) - 2);
  const [name, txn, obj] = decodeAmf0(fixed);
  assert.equal(name, 'connect');
  assert.equal(txn, 1);
  assert.deepEqual({ ...(obj as object) }, { app: 'live', type: 'nonprivate', tcUrl: 'rtmp://h/live' });
});

test('AMF0: values round-trip (numbers, strings, booleans, null, objects, arrays, dates)', () => {
  const leaf: fc.Arbitrary<Amf0Value> = fc.oneof(
    fc.double({ noNaN: true }),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
  );
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 4 }), tie('o')),
    o: fc
      .dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('v'), { maxKeys: 4 })
      .map((d) => amf0Object(d as Record<string, Amf0Value>)),
  })).v as fc.Arbitrary<Amf0Value>;
  fc.assert(
    fc.property(fc.array(value, { maxLength: 4 }), (values) => {
      const back = decodeAmf0(encodeAmf0(...values));
      assert.deepEqual(JSON.parse(JSON.stringify(back)), JSON.parse(JSON.stringify(values)));
    }),
  );
  const d = new Date(1_700_000_000_000);
  assert.equal((decodeAmf0(encodeAmf0(d))[0] as Date).getTime(), d.getTime());
});

test('AMF0: an ECMA array (onMetaData) decodes as an object; __proto__ is just a key', () => {
  const [meta] = decodeAmf0(
    encodeAmf0EcmaArray(JSON.parse('{"videocodecid":7,"__proto__":"x"}') as Record<string, Amf0Value>),
  );
  assert.equal((meta as Record<string, Amf0Value>).videocodecid, 7);
  assert.equal(Object.getOwnPropertyDescriptor(meta, '__proto__')?.value, 'x');
  assert.equal(Object.getPrototypeOf(meta), null);
});

test('AMF0: hostile input is refused with ParseError (depth, counts, markers, lengths)', () => {
  let deep = Buffer.alloc(0);
  for (let i = 0; i < 40; i++) deep = Buffer.concat([Buffer.from([0x0a, 0, 0, 0, 1]), deep]);
  assert.throws(() => decodeAmf0(Buffer.concat([deep, Buffer.from([5])])), { code: 'AMF0_TOO_DEEP' });
  assert.throws(() => decodeAmf0(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 5])), { code: 'AMF0_TRUNCATED' });
  assert.throws(() => decodeAmf0(Buffer.from([0x07, 0, 1])), { code: 'AMF0_BAD_MARKER' });
  assert.throws(() => decodeAmf0(Buffer.from([0x11])), { code: 'AMF0_BAD_MARKER' });
  assert.throws(() => decodeAmf0(Buffer.from([0x0c, 0x7f, 0xff, 0xff, 0xff])), { code: 'AMF0_TRUNCATED' });
  assert.throws(
    () => decodeAmf0(Buffer.concat([Buffer.from([0x0a, 0, 0, 0x20, 0]), Buffer.alloc(8192, 5)])),
    {
      code: 'AMF0_TOO_MANY_VALUES',
    },
  );
});
