import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERVE_NODE_FLAGS, nodeFlagsToAdd } from './node-flags.js';

test('serve gets the young-generation bound unless it is already given or turned off', () => {
  assert.deepEqual(nodeFlagsToAdd(['serve', '-c', 'x.yml'], [], {}), [...SERVE_NODE_FLAGS]);
  assert.deepEqual(nodeFlagsToAdd(['serve'], ['--max-semi-space-size=4'], {}), []);
  assert.deepEqual(nodeFlagsToAdd(['serve'], [], { NODE_OPTIONS: '--max-semi-space-size=8 --x' }), []);
  assert.deepEqual(nodeFlagsToAdd(['serve'], [], { RTSPKIT_NODE_FLAGS: 'none' }), []);
  // The child the flags were applied to does not start again.
  assert.deepEqual(nodeFlagsToAdd(['serve'], [], { RTSPKIT_NODE_FLAGS_APPLIED: '1' }), []);
  // Other commands run as they are.
  assert.deepEqual(nodeFlagsToAdd(['probe', 'rtsp://h/x'], [], {}), []);
  assert.deepEqual(nodeFlagsToAdd([], [], {}), []);
});
