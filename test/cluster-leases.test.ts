// Leases with fencing tokens against a real redis-server (src/cluster/leases.ts, redis-store.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { nullLogger } from '../src/base/logger.js';
import { LeaseKeeper } from '../src/cluster/leases.js';
import { RedisStore } from '../src/cluster/redis-store.js';
import { skipUnlessRedis, startRedis, type TestRedis } from './support/redis.js';
import { waitFor } from './support/process.js';

const skip = skipUnlessRedis();
let redis: TestRedis;
const stores: RedisStore[] = [];

async function store(): Promise<RedisStore> {
  const s = await RedisStore.open({ url: redis.url, logger: nullLogger, commandTimeoutMs: 500 });
  stores.push(s);
  return s;
}

function keeper(s: RedisStore, node: string, periodMs: number, lost: string[] = []): LeaseKeeper {
  return new LeaseKeeper({
    store: s,
    node,
    periodMs,
    logger: nullLogger,
    nowMs: () => performance.now(),
    onLost: (path) => lost.push(path),
  });
}

before(async () => {
  if (skip === false) redis = await startRedis();
});
after(async () => {
  await Promise.all(stores.map((s) => s.close()));
  if (skip === false) await redis.stop();
});

test('a held lease refuses a second node; the release frees it; tokens only grow', { skip }, async () => {
  const [a, b] = [keeper(await store(), 'a', 5000), keeper(await store(), 'b', 5000)];
  assert.equal(await a.claim('cam1'), 'granted');
  const first = a.held[0]!.token;
  assert.equal(await b.claim('cam1'), 'busy');
  assert.equal(await a.claim('cam1'), 'granted', 'the holder claims again (same token)');
  assert.equal(a.held[0]!.token, first);
  await a.release('cam1');
  assert.equal(await b.claim('cam1'), 'granted');
  assert.ok(b.held[0]!.token > first, 'a new claim gets a new fencing token');
  assert.equal(b.counters.claimsRefused, 1);
});

test(
  'lease expiry: another node can claim only after the period; the old holder learns it lost',
  { skip },
  async () => {
    const periodMs = 1500;
    const lostA: string[] = [];
    const sA = await store();
    const a = keeper(sA, 'a', periodMs, lostA);
    const b = keeper(await store(), 'b', periodMs);
    assert.equal(await a.claim('exp'), 'granted');
    const claimedAt = performance.now();
    // A stops renewing (paused or cut off). B polls until it gets the path.
    while ((await b.claim('exp')) === 'busy') await new Promise((r) => setTimeout(r, 50));
    const waitedMs = performance.now() - claimedAt;
    assert.ok(
      waitedMs >= periodMs - 100,
      `claimed after ${waitedMs} ms, before the period of ${periodMs} ms`,
    );
    assert.ok(
      waitedMs < periodMs + 1500,
      `claimed ${waitedMs} ms after: the lease should have expired sooner`,
    );
    // A wakes up: its renewal fails (B's token), so it drops the path rather than serve it twice.
    assert.equal(await a.renewAll(), true);
    assert.deepEqual(lostA, ['exp']);
    assert.equal(a.holds('exp'), false);
    assert.equal(a.counters.lost, 1);
    // B, renewing, keeps it well past one period.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, periodMs / 3));
      assert.equal(await b.renewAll(), true);
    }
    assert.equal((await sA.readLease('exp'))?.node, 'b');
  },
);

test('a takeover (overridePublisher) fences out the old holder', { skip }, async () => {
  const lostA: string[] = [];
  const a = keeper(await store(), 'a', 5000, lostA);
  const b = keeper(await store(), 'b', 5000);
  assert.equal(await a.claim('take'), 'granted');
  assert.equal(await b.claim('take', true), 'granted');
  await a.renewAll();
  assert.deepEqual(lostA, ['take']);
});

test(
  'Redis restart: claims answer unavailable while it is down, leases are claimed back after',
  { skip },
  async () => {
    const lostA: string[] = [];
    const sA = await store();
    const a = keeper(sA, 'a', 3000, lostA);
    assert.equal(await a.claim('r1'), 'granted');
    await redis.restart(0).then(() => undefined);
    // The client notices the restart and reconnects by itself.
    await waitFor(() => sA.connected, 10_000, 'the store reconnecting');
    assert.equal(await a.renewAll(), true);
    assert.equal(a.holds('r1'), true, 'the lease is claimed back after a restart emptied Redis');
    assert.equal((await sA.readLease('r1'))?.node, 'a');
    assert.deepEqual(lostA, []);
    await redis.stop();
    await waitFor(() => !sA.connected, 10_000, 'the store noticing Redis is gone');
    assert.equal(await a.claim('r2'), 'unavailable');
    assert.equal(await a.renewAll(), false);
    assert.equal(a.holds('r1'), true, 'a node keeps what it holds while Redis is away');
    await redis.restart(0);
    await waitFor(() => sA.connected, 10_000, 'the store reconnecting');
  },
);
