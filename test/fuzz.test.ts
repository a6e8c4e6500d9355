// A short run of `npm run fuzz` (the long one is a separate script).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzParsers } from './fuzz/parsers.js';
import { fuzzServer } from './fuzz/socket.js';

test('every parser survives generated and mutated input', () => {
  const results = fuzzParsers(300);
  assert.ok(results.length >= 18, `${results.length} parsers fuzzed`);
});

test('the server survives socket fuzzing, still answers, and its heap stays bounded', async () => {
  const r = await fuzzServer(3, 4);
  assert.ok(r.messagesSent > 100, `${r.messagesSent} messages sent`);
  assert.ok(r.stillAnswers, 'OPTIONS and DESCRIBE answered after fuzzing');
  assert.ok(
    r.heapAfterBytes - r.heapBeforeBytes < 16 * 1024 * 1024,
    `heap ${r.heapBeforeBytes} -> ${r.heapAfterBytes}`,
  );
});
