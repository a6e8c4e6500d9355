import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MulticastAddresses, formatIpv4, parseMulticastRange } from './multicast.js';

test('parseMulticastRange: host addresses of a multicast prefix, clear errors otherwise', () => {
  const r = parseMulticastRange('239.255.0.0/16');
  assert.equal(formatIpv4(r.first), '239.255.0.1');
  assert.equal(formatIpv4(r.last), '239.255.255.254');
  assert.equal(formatIpv4(parseMulticastRange('224.1.2.3/24').first), '224.1.2.1');
  assert.throws(() => parseMulticastRange('10.0.0.0/8'), /outside 224\.0\.0\.0\/4/);
  assert.throws(() => parseMulticastRange('239.255.0.0'), /a\.b\.c\.d\/prefix/);
  assert.throws(() => parseMulticastRange('239.300.0.0/16'), /bad multicast range/);
  assert.throws(() => parseMulticastRange('239.0.0.0/31'), /bad multicast range/);
});

test('MulticastAddresses: round robin over the range, skipping addresses in use; undefined when full', () => {
  const pool = new MulticastAddresses('239.1.1.0/30'); // two host addresses: .1 and .2
  assert.equal(pool.take(new Set()), '239.1.1.1');
  assert.equal(pool.take(new Set(['239.1.1.1'])), '239.1.1.2');
  assert.equal(pool.take(new Set()), '239.1.1.1', 'wraps around');
  assert.equal(pool.take(new Set(['239.1.1.2'])), '239.1.1.1', 'skips one in use');
  assert.equal(pool.take(new Set(['239.1.1.1', '239.1.1.2'])), undefined);
});
