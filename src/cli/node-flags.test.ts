import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVE_NODE_ENV, SERVE_NODE_FLAGS, nodeStartAdditions } from './node-flags.js';

const ALL = { flags: [...SERVE_NODE_FLAGS], env: { ...SERVE_NODE_ENV } };

test('serve gets the young-generation bound unless it is already given or turned off', () => {
  assert.deepEqual(nodeStartAdditions(['serve', '-c', 'x.yml'], [], {}), ALL);
  assert.deepEqual(nodeStartAdditions(['serve'], ['--max-semi-space-size=4'], {}), { ...ALL, flags: [] });
  assert.deepEqual(nodeStartAdditions(['serve'], [], { NODE_OPTIONS: '--max-semi-space-size=8 --x' }), {
    ...ALL,
    flags: [],
  });
  assert.equal(nodeStartAdditions(['serve'], [], { RTSPKIT_NODE_FLAGS: 'none' }), undefined);
  // The child the flags were applied to does not start again.
  assert.equal(nodeStartAdditions(['serve'], [], { RTSPKIT_NODE_FLAGS_APPLIED: '1' }), undefined);
  // Other commands run as they are.
  assert.equal(nodeStartAdditions(['probe', 'rtsp://h/x'], [], {}), undefined);
  assert.equal(nodeStartAdditions([], [], {}), undefined);
});

test("serve gets glibc's arena bound unless the environment sets it; with everything given it runs as it is", () => {
  assert.equal(SERVE_NODE_ENV.MALLOC_ARENA_MAX, '2');
  // The user's own value stays (even one that is not ours), and the flag is still added.
  assert.deepEqual(nodeStartAdditions(['serve'], [], { MALLOC_ARENA_MAX: '8' }), { ...ALL, env: {} });
  // Flags and environment both given (as the benches start it): no second start.
  assert.equal(nodeStartAdditions(['serve'], [...SERVE_NODE_FLAGS], { ...SERVE_NODE_ENV }), undefined);
});
