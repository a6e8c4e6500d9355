/**
 * Wiring of the `cluster:` block (README "Cluster"): the Redis store opened before the authorizer (the
 * Digest key and replay memory are the cluster's), then, once the RTSP server listens, this node joined
 * to the cluster and made the server's placement. Without `cluster:` none of this runs.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from './base/logger.js';
import { systemClock } from './base/clock.js';
import type { ClusterConfig } from './config/config.js';
import { EdgeRelays } from './cluster/edge.js';
import { ClusterNode } from './cluster/node.js';
import { RedisStore, StoreUnavailableError } from './cluster/redis-store.js';
import { SharedDigestMemory } from './cluster/shared-digest.js';
import type { ClusterApi } from './http/cluster.js';
import type { RtspServer } from './server/server.js';
import type { DigestReplayMemory } from './auth/server.js';

export interface DigestState {
  secret: Buffer;
  nonceCounts: DigestReplayMemory;
}

export async function openClusterStore(config: ClusterConfig, logger: Logger): Promise<RedisStore> {
  return RedisStore.open({ url: config.redisUrl, prefix: config.keyPrefix, logger });
}

/** The cluster's Digest key (this node's random one if Redis cannot be reached at start) and replay memory. */
export async function clusterDigestState(store: RedisStore, logger: Logger): Promise<DigestState> {
  const candidate = randomBytes(32);
  let secret: Buffer = candidate;
  try {
    secret = await store.sharedSecret(candidate);
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    logger.warn({}, 'cluster: Redis unreachable at start; Digest nonces of this node are its own');
  }
  return { secret, nonceCounts: new SharedDigestMemory(store, logger) };
}

/** Seconds a relay keeps pulling after its last reader left. */
const EDGE_IDLE_CLOSE_MS = 10_000;

/** The edge role's on-demand relays; made before the server (they are its on-demand sources). */
export function edgeRelaysOf(store: RedisStore, logger: Logger): EdgeRelays {
  return new EdgeRelays({ store, clock: systemClock, logger, idleCloseMs: EDGE_IDLE_CLOSE_MS });
}

export interface AppCluster extends ClusterApi {
  readonly node: ClusterNode;
  close(): Promise<void>;
}

/** Joins the cluster (first heartbeat) and routes the server's placement questions to this node. */
export async function joinCluster(
  config: ClusterConfig,
  store: RedisStore,
  server: RtspServer,
  /** The RTSP listen host; a wildcard (`''`, 0.0.0.0, ::) advertises the host name instead. */
  listenHost: string,
  logger: Logger,
  edge: EdgeRelays | undefined,
  /** A path's own `overridePublisher` (config/path-config.ts), besides the cluster-wide one. */
  pathOverridesPublisher: (path: string) => boolean,
): Promise<AppCluster> {
  const port = server.port;
  const wildcard = listenHost === '' || listenHost === '0.0.0.0' || listenHost === '::';
  const host = wildcard ? hostname() : listenHost.includes(':') ? `[${listenHost}]` : listenHost;
  const node = new ClusterNode({
    store,
    engine: server.view,
    id: config.nodeId ?? `${host}:${port}`,
    rtspUrl: config.advertiseUrl?.replace(/\/$/, '') ?? `rtsp://${host}:${port}`,
    policy: config.readerPolicy,
    leasePeriodMs: config.leasePeriod * 1000,
    heartbeatMs: config.heartbeat * 1000,
    balanceMarginReaders: config.balanceMargin,
    drainRetryAfterS: config.drainRetryAfter,
    overridePublisher: (path) => config.overridePublisher || pathOverridesPublisher(path),
    ...(edge !== undefined ? { edge } : {}),
    logger,
  });
  await node.start();
  server.placement = node;
  logger.info({ node: node.id, policy: config.readerPolicy }, 'cluster: node joined');
  return {
    node,
    get id() {
      return node.id;
    },
    get draining() {
      return node.draining;
    },
    get redisReachable() {
      return node.redisReachable;
    },
    get counters() {
      return node.counters;
    },
    storeOperations: () => store.operations,
    nodes: () => node.nodes(),
    paths: () => node.paths(),
    // RTSP REDIRECT to this node's readers (RtspServer.redirectReaders).
    drain: () => node.drain(server),
    close: async () => {
      await node.close();
      await store.close();
    },
  };
}
