/**
 * One node of a cluster (issue 19): it registers itself in Redis with a heartbeat, holds the leases of
 * the paths it owns (leases.ts), and answers the RTSP server's placement questions (paths/placement.ts):
 * may a publisher take this path here, where should this reader go, are new sessions refused (drain).
 *
 * Every `heartbeatMs` one round (a `clockInterval` on the server's clock): write the node's record
 * (address, policy, load, owned and relayed paths) with a TTL of three heartbeats, renew the leases,
 * give back those of paths no longer here, claim those of sources started here, and read the other
 * nodes. Placement reads that list (at most one heartbeat old) and Redis only for a path's owner.
 */
import { clockInterval, type ClockTimer } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { PathPlacement, PublisherClaim, ReaderPlacement } from '../paths/placement.js';
import type { EngineAccess } from '../server/view.js';
import { candidatesFor, chooseNode, redirectLocation } from './choose.js';
import { EdgeRelays, RELAY_QUERY } from './edge.js';
import { LeaseKeeper } from './leases.js';
import { LoadSampler, type NodeLoad } from './load.js';
import { StoreUnavailableError, type ClusterStore, type NodeRecord } from './redis-store.js';

export type ReaderPolicy = 'redirect' | 'edge';

/** What the RTSP server offers to move readers (RFC 2326 §10.10 REDIRECT, then BYE for those that ignore it). */
export interface ReaderRedirector {
  redirectReaders(select: (pathName: string) => string | undefined, reason: string): number;
}

export interface ClusterNodeOptions {
  store: ClusterStore;
  engine: EngineAccess;
  id: string;
  /** `rtsp://host:port` other nodes and redirected readers use to reach this node. */
  rtspUrl: string;
  policy: ReaderPolicy;
  leasePeriodMs: number;
  heartbeatMs: number;
  /** A node redirects a reader of a path it has only when it has this many readers more than another. */
  balanceMarginReaders: number;
  /** Retry-After of the 503 to new sessions while draining. */
  drainRetryAfterS: number;
  /** The edge role's relays (policy `edge`), also the server's on-demand sources. */
  edge?: EdgeRelays;
  /** May a publisher here take `path` from the node holding it (overridePublisher)? */
  overridePublisher?: (path: string) => boolean;
  logger: Logger;
}

export interface ClusterCounters {
  redirects: number;
  claimsGranted: number;
  claimsRefused: number;
  claimsUnavailable: number;
  leasesLost: number;
  heartbeatFailures: number;
  readersRedirectedByDrain: number;
}

export interface PathPlacementSnapshot {
  path: string;
  owner: string | null;
  relays: string[];
}

export class ClusterNode implements PathPlacement {
  readonly leases: LeaseKeeper;
  readonly counters: ClusterCounters = {
    redirects: 0,
    claimsGranted: 0,
    claimsRefused: 0,
    claimsUnavailable: 0,
    leasesLost: 0,
    heartbeatFailures: 0,
    readersRedirectedByDrain: 0,
  };
  #nodes: NodeRecord[] = [];
  /** Readers this node sent to each node since that node's last report (by id, reset when it reports). */
  readonly #sentSinceReport = new Map<string, { readers: number; reportedReaders: number }>();
  #draining = false;
  #load: NodeLoad = { readers: 0, egressBitsPerSecond: 0, cpu: 0 };
  #timer: ClockTimer | undefined;
  #round: Promise<void> | undefined;
  #redisReachable = true;
  readonly #sampler: LoadSampler;
  readonly #startedAtMs: number;
  readonly #log: Logger;

  constructor(private readonly opts: ClusterNodeOptions) {
    this.#log = opts.logger.child({ node: opts.id });
    this.#sampler = new LoadSampler(opts.engine);
    this.#startedAtMs = opts.engine.clock.wallMs();
    this.leases = new LeaseKeeper({
      store: opts.store,
      node: opts.id,
      periodMs: opts.leasePeriodMs,
      logger: this.#log,
      nowMs: () => opts.engine.clock.monotonicMs(),
      onLost: (path, reason) => this.#dropPath(path, reason),
    });
    const edge = opts.edge;
    if (edge !== undefined) {
      edge.selfId = opts.id;
      this.#unsubscribe = opts.engine.onPathNotReady((p) => {
        if (p.owner.kind === 'pull') edge.ended(p.name);
      });
    }
  }

  #unsubscribe: (() => void) | undefined;

  /** Paths this node pulls from their owner (edge role): relays, not owned. */
  relays(): string[] {
    return this.opts.edge?.paths() ?? [];
  }

  get id(): string {
    return this.opts.id;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get redisReachable(): boolean {
    return this.#redisReachable && this.opts.store.connected;
  }

  /** The first heartbeat (waited for), then one every `heartbeatMs`. */
  async start(): Promise<void> {
    await this.heartbeat();
    this.#timer = clockInterval(
      this.opts.engine.clock,
      () => {
        // One round at a time: a slow Redis skips a beat rather than stack them.
        this.#round ??= this.heartbeat().finally(() => (this.#round = undefined));
      },
      this.opts.heartbeatMs,
      { unref: true },
    );
  }

  /** One round: report, renew, reconcile, read the others. Never throws (logs, counts). */
  async heartbeat(): Promise<void> {
    this.#load = this.#sampler.sample();
    try {
      await this.#reconcile();
      await this.opts.edge?.follow((path, reason) => this.opts.engine.removeSourcePath(path, reason));
      const renewed = await this.leases.renewAll();
      await this.opts.store.putNode(this.#record(), this.opts.heartbeatMs * 3);
      this.#nodes = await this.opts.store.listNodes();
      for (const n of this.#nodes) {
        const sent = this.#sentSinceReport.get(n.id);
        if (sent !== undefined && sent.reportedReaders !== n.readers) this.#sentSinceReport.delete(n.id);
      }
      if (!this.#redisReachable && renewed)
        this.#log.info({}, 'cluster: Redis reachable again; node registered');
      this.#redisReachable = renewed;
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.counters.heartbeatFailures++;
      if (this.#redisReachable)
        this.#log.error(
          { err: err.message },
          'cluster: Redis unreachable; serving what this node holds, refusing new claims (503)',
        );
      this.#redisReachable = false;
    }
  }

  #record(): NodeRecord {
    return {
      id: this.opts.id,
      rtspUrl: this.opts.rtspUrl,
      policy: this.opts.policy,
      draining: this.#draining,
      ...this.#load,
      owned: this.leases.held.map((l) => l.path),
      relayed: this.relays(),
      startedAtMs: this.#startedAtMs,
    };
  }

  /**
   * Leases follow the paths here: a lease whose path is gone (its publisher left) is given back, and a
   * source started here (a config file loop, an API path) is claimed. A relay is never claimed.
   */
  async #reconcile(): Promise<void> {
    const now = this.opts.engine.clock.monotonicMs();
    const here = new Map(this.opts.engine.paths().map((p) => [p.name, p]));
    for (const lease of this.leases.held) {
      // ANNOUNCE claims before the path manager has the path: give it a period to appear.
      if (!here.has(lease.path) && now - lease.claimedAtMs > this.opts.leasePeriodMs)
        await this.leases.release(lease.path);
    }
    for (const p of here.values()) {
      if (p.owner.kind === 'publisher' || this.opts.edge?.has(p.name) === true || this.leases.holds(p.name))
        continue;
      const claim = await this.leases.claim(p.name);
      if (claim === 'busy')
        this.#log.warn({ path: p.name }, 'cluster: a source here serves a path another node owns');
    }
  }

  /** A lease went to another node: its publisher here is ended (the path is no longer ours to serve). */
  #dropPath(path: string, reason: string): void {
    this.counters.leasesLost++;
    const p = this.opts.engine.path(path);
    if (p?.owner.kind === 'publisher') this.opts.engine.endSession(p.owner.sessionId, reason);
    else if (p !== undefined) this.opts.engine.removeSourcePath(path, reason);
  }

  // ---- PathPlacement ----

  async claimPublisher(path: string): Promise<PublisherClaim> {
    const takeOver = this.opts.overridePublisher?.(path) ?? false;
    const result = await this.leases.claim(path, takeOver);
    // A relay of the path here (its owner is gone: the lease was free) gives way to the publisher.
    if (result === 'granted' && this.opts.edge?.has(path) === true) {
      this.opts.edge.ended(path);
      this.opts.engine.removeSourcePath(path, 'a publisher took the path here');
    }
    if (result === 'granted') this.counters.claimsGranted++;
    else if (result === 'busy') this.counters.claimsRefused++;
    else this.counters.claimsUnavailable++;
    return result;
  }

  /**
   * Who redirects, so that a reader is sent at most twice and never back and forth on views of the load
   * a heartbeat apart: a relay or an edge serves whoever reaches it; only the owner (balancing by load
   * among the nodes that can serve) and a node in `redirect` policy without the path send readers on.
   */
  async placeReader(path: string, hereLive: boolean, requestUri: string): Promise<ReaderPlacement> {
    // Another node's relay pulling from here is served here: a load redirect could send it back to itself.
    if (requestUri.includes(`${RELAY_QUERY}=`)) return { kind: 'here' };
    const ownsIt = this.leases.holds(path);
    if (hereLive && !ownsIt) return { kind: 'here' };
    if (!hereLive && this.opts.policy === 'edge') return { kind: 'here' };
    let owner: string | undefined = ownsIt ? this.opts.id : undefined;
    if (!hereLive) {
      try {
        owner = (await this.opts.store.readLease(path))?.node;
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        return { kind: 'here' };
      }
      // Nobody holds it (404 or a source on demand here), or it is ours (ANNOUNCE before RECORD).
      if (owner === undefined || owner === this.opts.id) return { kind: 'here' };
    }
    const nodes = this.#nodesWithSelf();
    const chosen = chooseNode(
      this.opts.id,
      candidatesFor(path, owner, nodes),
      { readersOf: (n) => this.#readersOf(n) },
      this.opts.balanceMarginReaders,
    );
    if (chosen !== undefined && chosen.id !== this.opts.id) return this.#redirectTo(chosen, requestUri);
    if (hereLive) return { kind: 'here' };
    // Only the owner can serve it (no edge, no relay, the owner draining).
    const ownerNode = nodes.find((n) => n.id === owner);
    return ownerNode === undefined ? { kind: 'here' } : this.#redirectTo(ownerNode, requestUri);
  }

  refusesNewSessions(): number | undefined {
    return this.#draining ? this.opts.drainRetryAfterS : undefined;
  }

  #redirectTo(node: NodeRecord, requestUri: string): ReaderPlacement {
    this.counters.redirects++;
    const sent = this.#sentSinceReport.get(node.id) ?? { readers: 0, reportedReaders: node.readers };
    sent.readers++;
    this.#sentSinceReport.set(node.id, sent);
    return { kind: 'redirect', location: redirectLocation(node.rtspUrl, requestUri) };
  }

  #readersOf(n: NodeRecord): number {
    if (n.id === this.opts.id) return this.#sampler.readers();
    return n.readers + (this.#sentSinceReport.get(n.id)?.readers ?? 0);
  }

  /** The nodes last read, with this node's record as it is now (it may not have reported yet). */
  #nodesWithSelf(): NodeRecord[] {
    const self = this.#record();
    return [...this.#nodes.filter((n) => n.id !== this.opts.id), self];
  }

  // ---- drain ----

  /**
   * Stops taking sessions (503 + Retry-After) and sends this node's readers elsewhere through
   * `redirector` (RTSP REDIRECT to the least loaded other node that can serve each path).
   * Returns how many readers were asked to move.
   */
  async drain(redirector: ReaderRedirector | undefined): Promise<number> {
    this.#draining = true;
    await this.heartbeat();
    if (redirector === undefined) return 0;
    const moved = redirector.redirectReaders((pathName) => this.#drainTarget(pathName), 'node draining');
    this.counters.readersRedirectedByDrain += moved;
    this.#log.info({ readers: moved }, 'cluster: draining; readers redirected');
    return moved;
  }

  #drainTarget(path: string): string | undefined {
    const others = this.#nodes.filter((n) => n.id !== this.opts.id);
    // A path this node owns has no other source yet: readers go to an edge, which pulls it from here
    // until the publisher moves too.
    const chosen = chooseNode(
      this.opts.id,
      candidatesFor(path, this.opts.id, others),
      { readersOf: (n) => this.#readersOf(n) },
      0,
    );
    if (chosen === undefined) return undefined;
    const sent = this.#sentSinceReport.get(chosen.id) ?? { readers: 0, reportedReaders: chosen.readers };
    sent.readers++;
    this.#sentSinceReport.set(chosen.id, sent);
    return redirectLocation(chosen.rtspUrl, `/${path}`);
  }

  // ---- the API's figures ----

  /** The nodes as last read (this one as it is now). */
  nodes(): NodeRecord[] {
    return this.#nodesWithSelf().sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Each path known to the cluster: its owner (lease holder as last reported) and the nodes relaying it. */
  paths(): PathPlacementSnapshot[] {
    const out = new Map<string, PathPlacementSnapshot>();
    const entry = (path: string): PathPlacementSnapshot => {
      let e = out.get(path);
      if (e === undefined) out.set(path, (e = { path, owner: null, relays: [] }));
      return e;
    };
    for (const n of this.nodes()) {
      for (const p of n.owned) entry(p).owner = n.id;
      for (const p of n.relayed) entry(p).relays.push(n.id);
    }
    return [...out.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  get load(): NodeLoad {
    return this.#load;
  }

  /** Stops the heartbeat, gives back the leases and leaves the registry (a clean stop; kill -9 lets them expire). */
  async close(): Promise<void> {
    this.#timer?.cancel();
    await this.#round;
    this.#sampler.close();
    this.#unsubscribe?.();
    try {
      await this.leases.releaseAll();
      await this.opts.store.removeNode(this.opts.id);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
    }
  }
}
