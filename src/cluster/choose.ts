/**
 * Which node serves a reader: pure, so the rule is read and tested apart from Redis and sockets.
 *
 * The candidates for a path are the nodes that have it (its owner, the nodes relaying it) and, since
 * an edge pulls a path when a reader asks, every node whose policy is `edge`; a draining node never.
 * The least loaded wins, by readers: the figure a node last reported plus the readers this node has
 * sent it since (a burst of DESCRIBEs between two heartbeats must not all land on one node). Ties go
 * to the asking node (no redirect), then by id, so every node picks the same way.
 */
import type { NodeRecord } from './redis-store.js';

export interface LoadView {
  /** The readers each node is taken to have now (reported + sent there since its report). */
  readersOf(node: NodeRecord): number;
}

export function candidatesFor(
  path: string,
  owner: string | undefined,
  nodes: readonly NodeRecord[],
): NodeRecord[] {
  return nodes.filter(
    (n) =>
      !n.draining &&
      (n.id === owner || n.owned.includes(path) || n.relayed.includes(path) || n.policy === 'edge'),
  );
}

/**
 * The node to serve from: `self` when it is a candidate no more loaded than the best other one plus
 * `marginReaders` (hysteresis: a redirect costs the reader a round trip), else the least loaded.
 */
export function chooseNode(
  self: string,
  candidates: readonly NodeRecord[],
  load: LoadView,
  marginReaders: number,
): NodeRecord | undefined {
  let best: NodeRecord | undefined;
  let bestReaders = Infinity;
  let mine: NodeRecord | undefined;
  for (const n of candidates) {
    if (n.id === self) {
      mine = n;
      continue;
    }
    const r = load.readersOf(n);
    if (r < bestReaders || (r === bestReaders && best !== undefined && n.id < best.id)) {
      best = n;
      bestReaders = r;
    }
  }
  if (mine !== undefined && (best === undefined || load.readersOf(mine) <= bestReaders + marginReaders))
    return mine;
  return best;
}

/** `location` of `requestUri` (its path and query) on `base` (`rtsp://host:port`), without user info. */
export function redirectLocation(base: string, requestUri: string): string {
  let rest = '/';
  try {
    const u = new URL(requestUri);
    rest = `${u.pathname}${u.search}`;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // A request URI that is only a path (`/cam1`) is accepted by the target parser too.
    if (requestUri.startsWith('/')) rest = requestUri;
  }
  return base.replace(/\/+$/, '') + rest;
}
