/**
 * This node's path leases: claim, renew, release, each with the fencing token Redis gave at the claim
 * (redis-store.ts). A lease is renewed every `renewEveryMs` (a third of the period); the renewal
 * compares the stored `node token` first, so a node that was paused or cut off past its period, whose
 * lease another node has since claimed (a new token), learns at its next renewal that it lost the path
 * and lets it go (`onLost`): two nodes never both keep a path once they can reach Redis.
 *
 * While Redis is unreachable the node keeps its paths (the rule: serve what you hold) and claims
 * nothing new; once Redis answers again, a lease that expired meanwhile (a Redis restart loses them all)
 * is claimed again, the same token if the key survived, a new one if not; one another node took is lost.
 */
import type { Logger } from '../base/logger.js';
import { StoreUnavailableError, type ClusterStore } from './redis-store.js';

export type ClaimResult = 'granted' | 'busy' | 'unavailable';

export interface HeldLease {
  readonly path: string;
  readonly token: number;
  /** Monotonic ms of the claim and of the last renewal Redis confirmed. */
  readonly claimedAtMs: number;
  readonly renewedAtMs: number;
}

export interface LeaseKeeperOptions {
  store: ClusterStore;
  node: string;
  periodMs: number;
  logger: Logger;
  nowMs: () => number;
  /** A lease this node held went to another node: stop serving the path. */
  onLost: (path: string, reason: string) => void;
}

interface Held {
  token: number;
  claimedAtMs: number;
  renewedAtMs: number;
}

export class LeaseKeeper {
  readonly #held = new Map<string, Held>();
  #lost = 0;
  #claimsRefused = 0;

  constructor(private readonly opts: LeaseKeeperOptions) {}

  get held(): HeldLease[] {
    return [...this.#held].map(([path, h]) => ({ path, ...h }));
  }

  holds(path: string): boolean {
    return this.#held.has(path);
  }

  /** Leases lost to another node, and claims refused because another node held the path. */
  get counters(): { lost: number; claimsRefused: number } {
    return { lost: this.#lost, claimsRefused: this.#claimsRefused };
  }

  /**
   * Claims `path` for this node. `takeOver` takes it from whoever holds it (overridePublisher): the
   * old holder's token no longer renews, and that node drops the path at its next renewal.
   */
  async claim(path: string, takeOver = false): Promise<ClaimResult> {
    let token: number | undefined;
    try {
      token = takeOver
        ? await this.opts.store.takeLease(path, this.opts.node, this.opts.periodMs)
        : await this.opts.store.claimLease(path, this.opts.node, this.opts.periodMs);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.opts.logger.warn(
        { path, err: err.message },
        'cluster: cannot claim a path while Redis is unreachable',
      );
      return 'unavailable';
    }
    if (token === undefined) {
      this.#claimsRefused++;
      return 'busy';
    }
    const now = this.opts.nowMs();
    const cur = this.#held.get(path);
    this.#held.set(path, {
      token,
      claimedAtMs: cur?.token === token ? cur.claimedAtMs : now,
      renewedAtMs: now,
    });
    return 'granted';
  }

  /** Renews every lease; one whose token lost is dropped (`onLost`). False when Redis did not answer. */
  async renewAll(): Promise<boolean> {
    let reachable = true;
    await Promise.all(
      [...this.#held].map(async ([path, h]) => {
        try {
          if (await this.opts.store.renewLease(path, this.opts.node, h.token, this.opts.periodMs)) {
            h.renewedAtMs = this.opts.nowMs();
            return;
          }
          // Expired (Redis restarted or this node was away past its period): claim it back if free.
          const token = await this.opts.store.claimLease(path, this.opts.node, this.opts.periodMs);
          if (token !== undefined && this.#held.get(path) === h) {
            if (token !== h.token)
              this.opts.logger.info({ path, token }, 'cluster: lease had expired; claimed again');
            h.token = token;
            h.renewedAtMs = this.opts.nowMs();
            return;
          }
          if (this.#held.get(path) !== h) return;
          this.#held.delete(path);
          this.#lost++;
          const holder = await this.opts.store.readLease(path).catch(() => undefined);
          this.opts.logger.warn(
            { path, token: h.token, holder: holder?.node, holderToken: holder?.token },
            'cluster: lease lost to another node; path dropped here',
          );
          this.opts.onLost(path, 'lease lost to another node');
        } catch (err) {
          if (!(err instanceof StoreUnavailableError)) throw err;
          reachable = false;
        }
      }),
    );
    return reachable;
  }

  /** Lets `path` go (its publisher or source ended here). */
  async release(path: string): Promise<void> {
    const h = this.#held.get(path);
    if (h === undefined) return;
    this.#held.delete(path);
    try {
      await this.opts.store.releaseLease(path, this.opts.node, h.token);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      // It expires by itself within one period.
      this.opts.logger.warn(
        { path },
        'cluster: could not release a lease (Redis unreachable); it will expire',
      );
    }
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.#held.keys()].map((p) => this.release(p)));
  }
}
