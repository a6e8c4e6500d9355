/**
 * Every Redis access of the cluster, behind `ClusterStore`: leases with fencing tokens, the node
 * registry, the shared Digest secret and replay memory. The lease logic (leases.ts) and the node
 * (node.ts) see only the interface, so they read as protocol, and the Lua scripts sit in one place.
 *
 * Keys (all under `prefix`, default `rtspkit`):
 * - `lease:<path>` = `<node> <token>` with PX = the lease period: who holds the path;
 * - `fence:<path>` = a counter: INCR on each claim gives the lease's fencing token, never reused,
 *   so a holder that lost its lease (paused, partitioned, Redis restarted) can tell by its token;
 * - `node:<id>` = the node's JSON (address, load) with PX = 3 heartbeats; `nodes` = the set of ids;
 * - `digest:secret` = the Digest nonce key shared by every node; `digest:seen:<hash>` = an answer
 *   already accepted (PX = the nonce lifetime).
 *
 * Every call fails fast while Redis is unreachable (no offline queue, a per-call timeout): the node
 * keeps serving what it holds and refuses new claims with 503 (node.ts).
 */
import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import { clockTimeout, systemClock, type Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';

export interface LeaseHolder {
  node: string;
  token: number;
  /** Milliseconds the lease has left (Redis's PTTL). */
  ttlMs: number;
}

export interface NodeRecord {
  id: string;
  /** Where readers and other nodes reach this node's RTSP server: `rtsp://host:port`. */
  rtspUrl: string;
  policy: 'redirect' | 'edge';
  draining: boolean;
  readers: number;
  egressBitsPerSecond: number;
  /** Process CPU use over the last heartbeat, 0-1 of one core. */
  cpu: number;
  /** Paths this node holds the lease of, and paths it pulls from their owner (relays). */
  owned: string[];
  relayed: string[];
  startedAtMs: number;
}

export interface ClusterStore {
  /** A new lease (the next fencing token), or the holder's own one again; undefined when another holds it. */
  claimLease(path: string, node: string, periodMs: number): Promise<number | undefined>;
  /** Takes the lease whoever holds it (overridePublisher): the old holder's token stops renewing. */
  takeLease(path: string, node: string, periodMs: number): Promise<number>;
  /** Extends the lease only if `node` still holds it with `token` (compare-and-renew). */
  renewLease(path: string, node: string, token: number, periodMs: number): Promise<boolean>;
  /** Deletes the lease only if `node` holds it with `token`. */
  releaseLease(path: string, node: string, token: number): Promise<boolean>;
  readLease(path: string): Promise<LeaseHolder | undefined>;
  putNode(record: NodeRecord, ttlMs: number): Promise<void>;
  removeNode(id: string): Promise<void>;
  /** Every live node (records whose key expired are dropped from the set). */
  listNodes(): Promise<NodeRecord[]>;
  /** The cluster's Digest key: `candidate` when this node is the first to set it. */
  sharedSecret(candidate: Buffer): Promise<Buffer>;
  /** True the first time this answer is seen in the cluster (SET NX PX). */
  firstUseOfAnswer(nonce: string, response: string, lifetimeMs: number): Promise<boolean>;
  /** Redis commands sent so far (the benchmark's operations per second). */
  readonly operations: number;
  readonly connected: boolean;
  close(): Promise<void>;
}

export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

// KEYS[1] lease, KEYS[2] fence; ARGV node, periodMs. The holder's own lease is renewed and kept.
const CLAIM = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sp = string.find(cur, ' ')
  if string.sub(cur, 1, sp - 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(cur, sp + 1))
  end
  return -1
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token`;

const TAKE = `
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token`;

// ARGV value (`node token`), periodMs
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export interface RedisStoreOptions {
  url: string;
  prefix?: string;
  /** How long one command may take before the call fails (Redis unreachable). Default 1000. */
  commandTimeoutMs?: number;
  logger: Logger;
  clock?: Clock;
}

type Client = ReturnType<typeof createClient>;

export class RedisStore implements ClusterStore {
  #ops = 0;
  #connected = false;
  readonly #client: Client;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;

  private constructor(opts: RedisStoreOptions) {
    this.#prefix = `${opts.prefix ?? 'rtspkit'}:`;
    this.#timeoutMs = opts.commandTimeoutMs ?? 1000;
    this.#clock = opts.clock ?? systemClock;
    this.#logger = opts.logger;
    this.#client = createClient({
      url: opts.url,
      // Commands fail at once while disconnected rather than queue: a claim must not wait for Redis.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.#timeoutMs,
        // Reconnect forever, at most every 2 s: a Redis restart is a normal event.
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000),
      },
    });
    this.#client.on('error', (err: Error) => {
      if (this.#connected) this.#logger.warn({ err: err.message }, 'cluster: Redis unreachable');
      this.#connected = false;
    });
    this.#client.on('ready', () => {
      if (!this.#connected) this.#logger.info({}, 'cluster: Redis connected');
      this.#connected = true;
    });
    this.#client.on('end', () => {
      this.#connected = false;
    });
  }

  /**
   * Connects, waiting up to the command timeout for the first connection; a node whose Redis is down
   * at start still starts (it serves what it holds and refuses claims) and connects when Redis comes.
   */
  static async open(opts: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(opts);
    const connecting = store.#client.connect().then(
      () => undefined,
      (err: unknown) => {
        opts.logger.warn({ err: (err as Error).message }, 'cluster: Redis not reachable at start');
      },
    );
    await store.#bounded(connecting).catch((err: unknown) => {
      if (!(err instanceof StoreUnavailableError)) throw err;
      opts.logger.warn({}, 'cluster: Redis not reachable at start; retrying in the background');
    });
    return store;
  }

  get operations(): number {
    return this.#ops;
  }

  get connected(): boolean {
    return this.#connected;
  }

  #key(...parts: string[]): string {
    return this.#prefix + parts.join(':');
  }

  /** One command, bounded by the timeout; any failure is a StoreUnavailableError. */
  #bounded<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = clockTimeout(
        this.#clock,
        () => reject(new StoreUnavailableError('Redis did not answer in time')),
        this.#timeoutMs,
        { unref: true },
      );
      work.then(
        (v) => {
          timer.cancel();
          resolve(v);
        },
        (err: unknown) => {
          timer.cancel();
          reject(new StoreUnavailableError(`Redis: ${(err as Error).message}`));
        },
      );
    });
  }

  #run<T>(fn: (c: Client) => Promise<T>, commands = 1): Promise<T> {
    this.#ops += commands;
    if (!this.#client.isReady) return Promise.reject(new StoreUnavailableError('Redis not connected'));
    return this.#bounded(fn(this.#client));
  }

  async claimLease(path: string, node: string, periodMs: number): Promise<number | undefined> {
    const token = await this.#run((c) =>
      c.eval(CLAIM, {
        keys: [this.#key('lease', path), this.#key('fence', path)],
        arguments: [node, String(periodMs)],
      }),
    );
    return Number(token) > 0 ? Number(token) : undefined;
  }

  async takeLease(path: string, node: string, periodMs: number): Promise<number> {
    const token = await this.#run((c) =>
      c.eval(TAKE, {
        keys: [this.#key('lease', path), this.#key('fence', path)],
        arguments: [node, String(periodMs)],
      }),
    );
    return Number(token);
  }

  async renewLease(path: string, node: string, token: number, periodMs: number): Promise<boolean> {
    const n = await this.#run((c) =>
      c.eval(RENEW, { keys: [this.#key('lease', path)], arguments: [`${node} ${token}`, String(periodMs)] }),
    );
    return Number(n) === 1;
  }

  async releaseLease(path: string, node: string, token: number): Promise<boolean> {
    const n = await this.#run((c) =>
      c.eval(RELEASE, { keys: [this.#key('lease', path)], arguments: [`${node} ${token}`] }),
    );
    return Number(n) === 1;
  }

  async readLease(path: string): Promise<LeaseHolder | undefined> {
    const key = this.#key('lease', path);
    const [value, ttl] = await this.#run((c) => Promise.all([c.get(key), c.pTTL(key)]), 2);
    if (value === null) return undefined;
    const sp = value.indexOf(' ');
    return { node: value.slice(0, sp), token: Number(value.slice(sp + 1)), ttlMs: Math.max(0, ttl) };
  }

  async putNode(record: NodeRecord, ttlMs: number): Promise<void> {
    await this.#run(
      (c) =>
        c
          .multi()
          .set(this.#key('node', record.id), JSON.stringify(record), {
            expiration: { type: 'PX', value: ttlMs },
          })
          .sAdd(this.#key('nodes'), record.id)
          .exec(),
      2,
    );
  }

  async removeNode(id: string): Promise<void> {
    await this.#run((c) => c.multi().del(this.#key('node', id)).sRem(this.#key('nodes'), id).exec(), 2);
  }

  async listNodes(): Promise<NodeRecord[]> {
    const ids = await this.#run((c) => c.sMembers(this.#key('nodes')));
    if (ids.length === 0) return [];
    const values = await this.#run((c) => c.mGet(ids.map((id) => this.#key('node', id))));
    const out: NodeRecord[] = [];
    const gone: string[] = [];
    values.forEach((v, i) => {
      if (v === null) gone.push(ids[i]!);
      else out.push(JSON.parse(v) as NodeRecord);
    });
    if (gone.length > 0) await this.#run((c) => c.sRem(this.#key('nodes'), gone));
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async sharedSecret(candidate: Buffer): Promise<Buffer> {
    const key = this.#key('digest', 'secret');
    const hex = await this.#run(async (c) => {
      await c.set(key, candidate.toString('hex'), { condition: 'NX' });
      return c.get(key);
    }, 2);
    return hex === null ? candidate : Buffer.from(hex, 'hex');
  }

  async firstUseOfAnswer(nonce: string, response: string, lifetimeMs: number): Promise<boolean> {
    // Hashed: a bounded key whatever the client sent.
    const id = createHash('sha256').update(`${nonce} ${response}`).digest('base64url');
    const set = await this.#run((c) =>
      c.set(this.#key('digest', 'seen', id), '1', {
        condition: 'NX',
        expiration: { type: 'PX', value: Math.max(1, Math.ceil(lifetimeMs)) },
      }),
    );
    return set === 'OK';
  }

  async close(): Promise<void> {
    this.#connected = false;
    if (this.#client.isOpen) await this.#client.close();
    else this.#client.destroy();
  }
}
