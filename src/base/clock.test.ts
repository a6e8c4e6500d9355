import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { ManualTimerClock, clockInterval, clockTimeout, systemClock } from './clock.js';

test('ManualTimerClock runs due timers in order, at their due time', () => {
  const clock = new ManualTimerClock();
  const seen: [string, number][] = [];
  clockTimeout(clock, () => seen.push(['b', clock.monotonicMs()]), 200);
  clockTimeout(clock, () => seen.push(['a', clock.monotonicMs()]), 100);
  const c = clockTimeout(clock, () => seen.push(['cancelled', clock.monotonicMs()]), 150);
  c.cancel();
  clock.advance(99);
  assert.deepEqual(seen, []);
  clock.advance(150);
  assert.deepEqual(seen, [
    ['a', 100],
    ['b', 200],
  ]);
  assert.equal(clock.monotonicMs(), 249);
  assert.equal(clock.pendingTimers, 0);
});

test('a timer armed by a timer runs in the same advance when it falls due', () => {
  const clock = new ManualTimerClock();
  const at: number[] = [];
  clockTimeout(clock, () => clockTimeout(clock, () => at.push(clock.monotonicMs()), 50), 50);
  clock.advance(100);
  assert.deepEqual(at, [100]);
});

test('clockInterval ticks every period until cancelled', () => {
  const clock = new ManualTimerClock();
  const at: number[] = [];
  const t = clockInterval(clock, () => at.push(clock.monotonicMs()), 1000);
  clock.advance(3500);
  assert.deepEqual(at, [1000, 2000, 3000]);
  t.cancel();
  clock.advance(5000);
  assert.deepEqual(at, [1000, 2000, 3000]);
  assert.equal(clock.pendingTimers, 0);
});

test('an unref timer of the system clock does not keep the process alive; a plain one does', () => {
  const refTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = refTimers();
  const background = clockTimeout(systemClock, () => undefined, 60_000, { unref: true });
  const backgroundTicks = clockInterval(systemClock, () => undefined, 60_000, { unref: true });
  assert.equal(refTimers(), before);
  const plain = clockTimeout(systemClock, () => undefined, 60_000);
  assert.equal(refTimers(), before + 1);
  for (const t of [background, backgroundTicks, plain]) t.cancel();
  assert.equal(refTimers(), before);
});

test('clockInterval keeps ticking after a tick throws, as setInterval does', () => {
  const clock = new ManualTimerClock();
  let ticks = 0;
  const t = clockInterval(
    clock,
    () => {
      ticks++;
      if (ticks === 1) throw new Error('tick failed');
    },
    1000,
  );
  assert.throws(() => clock.advance(1000), /tick failed/);
  clock.advance(2000);
  assert.equal(ticks, 3);
  t.cancel();
});
