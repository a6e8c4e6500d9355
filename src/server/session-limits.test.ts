import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nullLogger } from '../base/logger.js';
import { ServerSession } from './session.js';
import { SessionLimits, notStartedInTime, sessionsPerIpCap } from './session-limits.js';

test('the per-address cap is floor(share × maxSessions), at least 1; share 0 is no cap', () => {
  assert.equal(sessionsPerIpCap({ maxSessions: 4096, maxSessionsPerIpShare: 0.5 }), 2048);
  assert.equal(sessionsPerIpCap({ maxSessions: 5, maxSessionsPerIpShare: 0.5 }), 2);
  assert.equal(sessionsPerIpCap({ maxSessions: 1, maxSessionsPerIpShare: 0.5 }), 1);
  assert.equal(sessionsPerIpCap({ maxSessions: 10, maxSessionsPerIpShare: 1 }), 10);
  assert.equal(sessionsPerIpCap({ maxSessions: 10, maxSessionsPerIpShare: 0 }), Infinity);
});

test('admission: the table first, then the address; releases free the address; refusals are counted', () => {
  const limits = new SessionLimits();
  const opts = { maxSessions: 4, maxSessionsPerIpShare: 0.5 };
  limits.added('10.0.0.1');
  limits.added('10.0.0.1');
  assert.equal(limits.refusalFor('10.0.0.1', 2, opts), 'sessionsPerIp');
  assert.equal(limits.refusalFor('10.0.0.2', 2, opts), undefined);
  assert.equal(limits.refusalFor('10.0.0.2', 4, opts), 'sessions');
  limits.removed('10.0.0.1');
  assert.equal(limits.heldBy('10.0.0.1'), 1);
  assert.equal(limits.refusalFor('10.0.0.1', 1, opts), undefined);
  const r = limits.refuse('announcedSdpBytes', 'over 10 bytes');
  assert.equal(r.statusCode, 413);
  assert.match(r.reason ?? '', /announced SDP too large \(over 10 bytes\)$/);
  assert.equal(limits.refusals.announcedSdpBytes, 1);
  assert.equal(limits.refusals.sessions, 0);
});

test('a session is half-made until it plays or records; pausing after does not make it half-made again', () => {
  const s = new ServerSession('s', 'p', { kind: 'live-reader' }, 1, undefined, nullLogger, 1000, 0);
  s.transition('SETUP');
  assert.equal(notStartedInTime(s, 1000 + 20_000, 20_000), false);
  assert.equal(notStartedInTime(s, 1000 + 20_001, 20_000), true);
  s.transition('PLAY');
  s.transition('PAUSE');
  assert.equal(notStartedInTime(s, 1000 + 60_000, 20_000), false);
});
