/**
 * The edge role (`readerPolicy: edge`): a reader asks this node for a path another node owns, and
 * this node pulls it from the owner over RTSP (sources/rtsp-pull.ts, the same machinery as a config
 * pull) and serves it, so media between nodes is plain RTSP. It plugs into the path manager as an
 * on-demand source (paths/path.ts `OnDemandSources`): the first reader starts the pull, the path stops
 * `idleCloseMs` after its last reader left.
 *
 * The relay's request carries `?rtspkit_relay=<node>`: the owner serves it itself, never redirects it
 * by load (which could send it back here). When the lease moves to another node (the owner died, its
 * publisher reconnected elsewhere), `follow` ends the relay; the next reader pulls from the new owner.
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { OnDemandSource, OnDemandSources, PathSource, SourceOwner } from '../paths/path.js';
import { openRtspPull, type RtspPullOptions } from '../sources/rtsp-pull.js';
import { StoreUnavailableError, type ClusterStore } from './redis-store.js';

export const RELAY_QUERY = 'rtspkit_relay';

export interface EdgeRelaysOptions {
  store: ClusterStore;
  clock: Clock;
  logger: Logger;
  /** A relay with no reader for this long stops. */
  idleCloseMs: number;
  /** Opens the pull (tests and the benchmark may pass their own options); default openRtspPull over TCP. */
  openPull?: (options: RtspPullOptions) => Promise<PathSource>;
}

interface Relay {
  ownerNode: string;
  url: string;
}

export class NoOwnerError extends Error {
  override readonly name = 'NoOwnerError';
}

export class EdgeRelays implements OnDemandSources {
  /** This node's id, known once the server listens (its port may be part of it). */
  selfId = '';
  readonly #relays = new Map<string, Relay>();
  #opened = 0;

  constructor(private readonly opts: EdgeRelaysOptions) {}

  has(path: string): boolean {
    return this.#relays.has(path);
  }

  paths(): string[] {
    return [...this.#relays.keys()];
  }

  /** Relays started so far. */
  get opened(): number {
    return this.#opened;
  }

  sourceFor(name: string): OnDemandSource | undefined {
    if (this.selfId === '') return undefined;
    const relays = this.#relays;
    return {
      // Read by the path manager once `open` resolved, when the upstream is known.
      get owner(): SourceOwner {
        return { kind: 'pull', url: relays.get(name)?.url ?? 'cluster', onDemand: true };
      },
      closeAfterMs: this.opts.idleCloseMs,
      open: () => this.#open(name),
    };
  }

  async #open(name: string): Promise<PathSource> {
    let lease;
    let nodes;
    try {
      lease = await this.opts.store.readLease(name);
      nodes = lease === undefined || lease.node === this.selfId ? [] : await this.opts.store.listNodes();
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      throw new NoOwnerError(`no owner known for ${name}: ${err.message}`);
    }
    const owner = nodes.find((n) => n.id === lease?.node);
    if (lease === undefined || owner === undefined) throw new NoOwnerError(`no other node owns ${name}`);
    const url = `${owner.rtspUrl}/${name}?${RELAY_QUERY}=${encodeURIComponent(this.selfId)}`;
    const open = this.opts.openPull ?? openRtspPull;
    const source = await open({
      url,
      transport: 'tcp',
      onDemand: true,
      clock: this.opts.clock,
      logger: this.opts.logger,
      reconnectMaxDelayMs: 2000,
    });
    this.#relays.set(name, { ownerNode: owner.id, url: `${owner.rtspUrl}/${name}` });
    this.#opened++;
    this.opts.logger.info({ path: name, owner: owner.id }, 'cluster: relaying a path from its owner');
    return source;
  }

  /** The relay's path ended here (idle, removed): forget it. */
  ended(name: string): void {
    this.#relays.delete(name);
  }

  /**
   * Relays whose path has a new owner (or whose owner is gone and another holds the lease): ended
   * through `remove`, so that the next reader pulls from the new owner.
   */
  async follow(remove: (path: string, reason: string) => void): Promise<void> {
    for (const [name, relay] of this.#relays) {
      const lease = await this.opts.store.readLease(name);
      if (lease !== undefined && lease.node !== relay.ownerNode) {
        this.#relays.delete(name);
        this.opts.logger.info(
          { path: name, from: relay.ownerNode, to: lease.node },
          'cluster: owner moved; relay ended',
        );
        remove(name, 'the path moved to another node');
      }
    }
  }
}
