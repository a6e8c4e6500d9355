import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ParseError } from '../base/errors.js';
import {
  addAttribute,
  getAttribute,
  getAttributes,
  getControl,
  getDirection,
  getFrameSize,
  getFramerate,
  getOwnDirection,
  getRange,
  hasAttribute,
  parseNptTime,
  parseRange,
  removeAttribute,
  serializeRange,
  setAttribute,
  setControl,
  setDirection,
  setFrameSize,
  setFramerate,
  setRange,
} from './attributes.js';
import { parseSdp } from './parse.js';
import type { HasAttributes } from './types.js';

test('get/has/add/set/remove', () => {
  const t: HasAttributes = { attributes: [] };
  addAttribute(t, 'recvonly');
  addAttribute(t, 'x', '1');
  addAttribute(t, 'x', ' 2 ');
  addAttribute(t, 'tool', 'a');
  assert.ok(hasAttribute(t, 'RECVONLY'));
  assert.equal(getAttribute(t, 'recvonly'), '');
  assert.equal(getAttribute(t, 'missing'), undefined);
  assert.deepEqual(getAttributes(t, 'X'), ['1', '2']);
  setAttribute(t, 'x', '3');
  assert.deepEqual(t.attributes, [
    { name: 'recvonly' },
    { name: 'x', value: '3' },
    { name: 'tool', value: 'a' },
  ]);
  setAttribute(t, 'new', 'v');
  setAttribute(t, 'flag');
  assert.deepEqual(t.attributes.slice(3), [{ name: 'new', value: 'v' }, { name: 'flag' }]);
  assert.equal(removeAttribute(t, 'nope'), 0);
  addAttribute(t, 'x', '4');
  assert.equal(
    removeAttribute(t, 'x', (v) => v === '4'),
    1,
  );
  assert.equal(removeAttribute(t, 'X'), 1);
  assert.deepEqual(
    t.attributes.map((a) => a.name),
    ['recvonly', 'tool', 'new', 'flag'],
  );
});

test('control', () => {
  const t: HasAttributes = { attributes: [{ name: 'control', value: ' rtsp://h/x ' }] };
  assert.equal(getControl(t), 'rtsp://h/x');
  setControl(t, 'trackID=1');
  assert.deepEqual(t.attributes, [{ name: 'control', value: 'trackID=1' }]);
});

test('range: npt, now, open, clock, smpte, RTSP 2.0 ;time= suffix', () => {
  assert.deepEqual(parseRange('npt=0-10.000'), {
    unit: 'npt',
    start: '0',
    end: '10.000',
    startSeconds: 0,
    endSeconds: 10,
  });
  assert.deepEqual(parseRange('npt=now-'), { unit: 'npt', start: 'now' });
  assert.deepEqual(parseRange('npt=0-'), { unit: 'npt', start: '0', startSeconds: 0 });
  assert.deepEqual(parseRange('npt=-34.5'), { unit: 'npt', start: '', end: '34.5', endSeconds: 34.5 });
  assert.deepEqual(parseRange('npt=1:02:03.5-'), { unit: 'npt', start: '1:02:03.5', startSeconds: 3723.5 });
  assert.deepEqual(parseRange('clock=19961110T1925-19961110T2015'), {
    unit: 'clock',
    start: '19961110T1925',
    end: '19961110T2015',
  });
  assert.deepEqual(parseRange('smpte-25=10:07:00-10:07:33:05.01'), {
    unit: 'smpte-25',
    start: '10:07:00',
    end: '10:07:33:05.01',
  });
  assert.deepEqual(parseRange(' npt = 0 - 5 ;time=19970123T153600Z'), {
    unit: 'npt',
    start: '0',
    end: '5',
    startSeconds: 0,
    endSeconds: 5,
  });
  for (const bad of ['', 'npt', '0-10', 'npt=x-', 'npt=0-1:99:00'])
    assert.throws(
      () => parseRange(bad),
      (e: unknown) => e instanceof ParseError && e.code === 'SDP_BAD_RANGE',
      bad,
    );
  assert.equal(serializeRange({ unit: 'npt', start: '0', end: '10.000' }), 'npt=0-10.000');
  assert.equal(serializeRange({ unit: 'npt', start: 'now' }), 'npt=now-');
  assert.equal(parseNptTime('12'), 12);
  assert.equal(parseNptTime('12.'), 12);
  const t: HasAttributes = { attributes: [{ name: 'range', value: 'garbage' }] };
  assert.equal(getRange(t), undefined);
  setRange(t, { unit: 'npt', start: '0', end: '3.2' });
  assert.deepEqual(getRange(t), { unit: 'npt', start: '0', end: '3.2', startSeconds: 0, endSeconds: 3.2 });
});

test('framerate and framesize', () => {
  const t: HasAttributes = { attributes: [{ name: 'framerate', value: '29.97' }] };
  assert.equal(getFramerate(t), 29.97);
  assert.equal(getFramerate({ attributes: [{ name: 'framerate', value: 'fast' }] }), undefined);
  assert.equal(getFramerate({ attributes: [{ name: 'framerate', value: '0' }] }), undefined);
  setFramerate(t, 25);
  assert.deepEqual(t.attributes, [{ name: 'framerate', value: '25' }]);
  assert.throws(() => {
    setFramerate(t, 0);
  }, RangeError);
  setFrameSize(t, 96, { width: 640, height: 360 });
  setFrameSize(t, 97, { width: 320, height: 180 });
  setFrameSize(t, 96, { width: 1280, height: 720 });
  assert.deepEqual(getFrameSize(t, 96), { width: 1280, height: 720 });
  assert.deepEqual(getFrameSize(t, '97'), { width: 320, height: 180 });
  assert.deepEqual(getFrameSize(t), { width: 320, height: 180 });
  assert.equal(getFrameSize({ attributes: [] }), undefined);
  assert.deepEqual(getFrameSize({ attributes: [{ name: 'x-dimensions', value: '1920, 1080' }] }), {
    width: 1920,
    height: 1080,
  });
});

test('direction: media overrides session, default sendrecv, set replaces in place', () => {
  const sd = parseSdp(
    'v=0\ns=x\na=recvonly\nm=audio 0 RTP/AVP 0\nm=video 0 RTP/AVP 26\na=control:1\na=inactive',
  );
  const [audio, video] = sd.media;
  assert.equal(getDirection(sd), 'recvonly');
  assert.equal(getDirection(sd, audio), 'recvonly');
  assert.equal(getDirection(sd, video), 'inactive');
  assert.equal(getOwnDirection(audio!), undefined);
  assert.equal(getDirection(parseSdp('v=0\ns=x\nm=audio 0 RTP/AVP 0')), 'sendrecv');
  video!.attributes.push({ name: 'sendrecv' }, { name: 'x' });
  setDirection(video!, 'sendonly');
  assert.deepEqual(video!.attributes, [{ name: 'control', value: '1' }, { name: 'sendonly' }, { name: 'x' }]);
  setDirection(audio!, 'recvonly');
  assert.deepEqual(audio!.attributes, [{ name: 'recvonly' }]);
});

test('property: a=range round-trips through serializeRange and parseRange; parsers throw only ParseError', () => {
  const npt = fc.oneof(
    fc.nat({ max: 10_000_000 }).map((ms) => ({ text: (ms / 1000).toFixed(3), seconds: ms / 1000 })),
    fc.tuple(fc.nat({ max: 99 }), fc.nat({ max: 59 }), fc.nat({ max: 59 })).map(([h, m, s]) => ({
      text: `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`,
      seconds: h * 3600 + m * 60 + s,
    })),
  );
  fc.assert(
    fc.property(npt, fc.option(npt, { nil: undefined }), (start, end) => {
      const r = parseRange(
        serializeRange({ unit: 'npt', start: start.text, ...(end ? { end: end.text } : {}) }),
      );
      assert.equal(r.unit, 'npt');
      assert.equal(r.start, start.text);
      assert.equal(r.startSeconds, start.seconds);
      assert.equal(r.end, end?.text);
      assert.equal(r.endSeconds, end?.seconds);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.stringMatching(/^(npt|smpte|clock)=[0-9:.now-]{0,20}$/)), (s) => {
      for (const parse of [parseRange, parseNptTime]) {
        try {
          parse(s);
        } catch (e) {
          assert.ok(e instanceof ParseError, String(e));
        }
      }
    }),
    { numRuns: 1000 },
  );
});
