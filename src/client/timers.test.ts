// SessionTimers on a ManualTimerClock: the keepalive and receiver-report cadence, the UDP watchdog
// (fires once, re-arming restarts it, disarming cancels it) and stop(), without sockets or waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualTimerClock } from '../base/clock.js';
import { SessionTimers } from './timers.js';

test('keepalive and reports tick at their own intervals until stopped; starting twice keeps one', () => {
  const clock = new ManualTimerClock();
  const timers = new SessionTimers(clock);
  const keepalives: number[] = [];
  const reports: number[] = [];
  timers.startKeepalive(30_000, () => keepalives.push(clock.monotonicMs()));
  timers.startKeepalive(1_000, () => keepalives.push(-1)); // already running: ignored
  assert.equal(timers.reportsRunning, false);
  timers.startReports(5_000, () => reports.push(clock.monotonicMs()));
  assert.equal(timers.reportsRunning, true);
  clock.advance(65_000);
  assert.deepEqual(keepalives, [30_000, 60_000]);
  assert.deepEqual(
    reports,
    [5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 45_000, 50_000, 55_000, 60_000, 65_000],
  );
  timers.stop();
  assert.equal(timers.reportsRunning, false);
  clock.advance(120_000);
  assert.equal(keepalives.length, 2);
  assert.equal(reports.length, 13);
  assert.equal(clock.pendingTimers, 0);
});

test('the UDP watchdog fires once after its timeout; re-arming restarts it and disarming cancels it', () => {
  const clock = new ManualTimerClock();
  const timers = new SessionTimers(clock);
  const fired: number[] = [];
  const fire = (): void => {
    fired.push(clock.monotonicMs());
  };
  timers.armWatchdog(3_000, fire);
  clock.advance(2_000);
  timers.armWatchdog(3_000, fire); // a new PLAY: the wait starts again
  clock.advance(2_999);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [5_000]);
  clock.advance(10_000);
  assert.deepEqual(fired, [5_000]);

  timers.armWatchdog(3_000, fire);
  timers.disarmWatchdog(); // a packet came
  clock.advance(10_000);
  assert.deepEqual(fired, [5_000]);
  assert.equal(clock.pendingTimers, 0);
});
