import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InterleavedChannels } from './interleaved-channels.js';

test('a frame goes to its channel handler; a channel with no handler is counted and dropped', () => {
  const channels = new InterleavedChannels();
  const got: string[] = [];
  const owner = {};
  assert.equal(
    channels.bind(0, owner, (p) => got.push(`rtp ${p.toString()}`)),
    true,
  );
  assert.equal(
    channels.bind(1, owner, (p) => got.push(`rtcp ${p.toString()}`)),
    true,
  );
  assert.equal(channels.dispatch(0, Buffer.from('a')), true);
  assert.equal(channels.dispatch(1, Buffer.from('b')), true);
  assert.equal(channels.dispatch(2, Buffer.from('c')), false);
  assert.equal(channels.dispatch(255, Buffer.from('d')), false);
  assert.deepEqual(got, ['rtp a', 'rtcp b']);
  assert.equal(channels.unboundFrames, 2);
  assert.deepEqual([...channels.used()], [0, 1]);
});

test("a channel is its owner's: another cannot take it, and unbinding one owner spares the others", () => {
  const channels = new InterleavedChannels();
  const first = {};
  const second = {};
  const got: string[] = [];
  channels.bind(0, first, () => got.push('first'));
  assert.equal(
    channels.bind(0, second, () => got.push('second')),
    false,
  );
  assert.equal(
    channels.bind(256, second, () => got.push('second')),
    false,
    'the channel field is one octet',
  );
  channels.bind(2, second, () => got.push('second'));
  channels.dispatch(0, Buffer.alloc(1));
  channels.unbind(first);
  assert.equal(channels.dispatch(0, Buffer.alloc(1)), false, 'the torn-down session hears nothing more');
  channels.dispatch(2, Buffer.alloc(1));
  assert.deepEqual(got, ['first', 'second']);
  assert.equal(
    channels.bind(0, second, () => got.push('second again')),
    true,
    'free again',
  );
  channels.dispatch(0, Buffer.alloc(1));
  assert.deepEqual(got, ['first', 'second', 'second again']);
});
