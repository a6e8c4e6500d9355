import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import {
  parseContentBase,
  parseContentLocation,
  parseCSeq,
  parseLocation,
  parsePublic,
  parseRequire,
  parseScale,
  parseSpeed,
  parseTokenList,
  parseUnsupported,
  serializeContentBase,
  serializeCSeq,
  serializeLocation,
  serializePublic,
  serializeScale,
  serializeSpeed,
} from './fields.js';

const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof ParseError && e.code === c;

test('CSeq', () => {
  assert.equal(parseCSeq('302'), 302);
  assert.equal(parseCSeq(' 0 '), 0);
  assert.equal(parseCSeq('4294967295'), 0xffffffff);
  for (const v of ['', '-1', '1.5', 'abc', '4294967296', '1 2'])
    assert.throws(() => parseCSeq(v), code('RTSP_BAD_CSEQ'), v);
  assert.equal(serializeCSeq(7), '7');
  assert.throws(() => serializeCSeq(-1), RangeError);
});

test('Scale and Speed', () => {
  assert.equal(parseScale('-1'), -1);
  assert.equal(parseScale('1.5'), 1.5);
  assert.equal(parseScale('+2'), 2);
  assert.equal(parseScale('.5'), 0.5);
  for (const v of ['0', '', 'fast', '1e3', 'Infinity', '--1'])
    assert.throws(() => parseScale(v), code('RTSP_BAD_SCALE'), v);
  assert.equal(serializeScale(-0.5), '-0.5');
  assert.equal(serializeScale(2), '2');
  assert.throws(() => serializeScale(0), RangeError);
  assert.equal(parseSpeed('2.0'), 2);
  for (const v of ['0', '-1', 'x']) assert.throws(() => parseSpeed(v), code('RTSP_BAD_SPEED'), v);
  assert.equal(serializeSpeed(1.25), '1.25');
  assert.throws(() => serializeSpeed(-1), RangeError);
  fc.assert(
    fc.property(
      fc.integer({ min: -1e6, max: 1e6 }).filter((n) => n !== 0),
      (n) => {
        assert.equal(parseScale(serializeScale(n / 1000)), n / 1000);
        assert.equal(parseSpeed(serializeSpeed(Math.abs(n) / 1000)), Math.abs(n) / 1000);
      },
    ),
  );
});

test('Public, Require, Unsupported lists', () => {
  assert.deepEqual(parsePublic('DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE'), [
    'DESCRIBE',
    'SETUP',
    'TEARDOWN',
    'PLAY',
    'PAUSE',
  ]);
  assert.deepEqual(parsePublic('OPTIONS,,GET_PARAMETER ,'), ['OPTIONS', 'GET_PARAMETER']);
  assert.deepEqual(parseRequire('www.onvif.org/ver20/backchannel'), ['www.onvif.org/ver20/backchannel']);
  assert.deepEqual(parseUnsupported('funky-feature, onvif-replay'), ['funky-feature', 'onvif-replay']);
  assert.deepEqual(parseTokenList(''), []);
  assert.throws(() => parseTokenList('a b'), code('RTSP_BAD_HEADER'));
  assert.equal(serializePublic(['OPTIONS', 'DESCRIBE']), 'OPTIONS, DESCRIBE');
  assert.throws(() => serializePublic(['a,b']), RangeError);
  assert.throws(() => serializePublic(['']), RangeError);
});

test('Content-Base, Content-Location, Location', () => {
  assert.equal(parseContentBase(' rtsp://h:554/live/cam/ '), 'rtsp://h:554/live/cam/');
  assert.equal(parseLocation('rtsp://other.example.com/live'), 'rtsp://other.example.com/live');
  assert.equal(parseContentLocation('cam/'), 'cam/');
  assert.throws(() => parseContentBase('/relative'), code('RTSP_BAD_URL'));
  assert.throws(() => parseLocation('rtsp://h/a b'), code('RTSP_BAD_URL'));
  assert.throws(() => parseContentLocation(''), code('RTSP_BAD_URL'));
  assert.equal(serializeContentBase('rtsp://h/x/'), 'rtsp://h/x/');
  assert.throws(() => serializeLocation('nope'), RangeError);
});

test('property: the field parsers throw only ParseError', () => {
  const parsers = [
    parseCSeq,
    parseScale,
    parseSpeed,
    parseTokenList,
    parseContentBase,
    parseContentLocation,
    parseLocation,
  ];
  fc.assert(
    fc.property(fc.string(), (s) => {
      for (const parse of parsers) {
        try {
          parse(s);
        } catch (e) {
          assert.ok(e instanceof ParseError, String(e));
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('property: CSeq, token lists and URL fields round-trip through serialize and parse', () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffffffff }), (n) => assert.equal(parseCSeq(serializeCSeq(n)), n)),
    { numRuns: 300 },
  );
  const token = fc.stringMatching(/^[!-+\--~]{1,24}$/);
  fc.assert(
    fc.property(fc.array(token, { maxLength: 8 }), (items) => {
      assert.deepEqual(parsePublic(serializePublic(items)), items);
    }),
    { numRuns: 300 },
  );
  const url = fc.tuple(fc.constantFrom('rtsp', 'rtsps', 'rtspu', 'http'), fc.stringMatching(/^[!-~]{1,40}$/));
  fc.assert(
    fc.property(url, ([scheme, rest]) => {
      const text = `${scheme}://${rest}`;
      assert.equal(parseContentBase(serializeContentBase(text)), text);
      assert.equal(parseLocation(` ${serializeLocation(text)}\t`), text);
      assert.equal(parseContentLocation(text), text);
    }),
    { numRuns: 300 },
  );
});
