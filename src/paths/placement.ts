/**
 * Where a path lives when several servers share the work (src/cluster): the narrow seam the RTSP
 * server asks before it admits a session. Without a cluster, `localPlacement` says yes to everything
 * and nothing changes.
 *
 * - ANNOUNCE asks `claimPublisher` before the path manager takes the publisher: the cluster claims the
 *   path's lease (busy: 403 as a local conflict; Redis unreachable: 503).
 * - DESCRIBE asks `placeReader`: serve here (the path is here, or a source on demand may bring it), or
 *   redirect (302 + Location, RFC 2326 §11.3.3) to the node chosen by load.
 * - A new session is refused with 503 + Retry-After while `refusesNewSessions` says so (drain).
 */
export type PublisherClaim = 'granted' | 'busy' | 'unavailable';

export type ReaderPlacement =
  | { readonly kind: 'here' }
  /** The absolute RTSP URL the reader should ask instead. */
  | { readonly kind: 'redirect'; readonly location: string };

export interface PathPlacement {
  claimPublisher(path: string): Promise<PublisherClaim>;
  /** `hereLive`: this server has the path with a stream now. */
  placeReader(path: string, hereLive: boolean, requestUri: string): Promise<ReaderPlacement>;
  /** Seconds to put in Retry-After when new sessions are refused (draining), else undefined. */
  refusesNewSessions(): number | undefined;
}

export const localPlacement: PathPlacement = {
  claimPublisher: () => Promise.resolve('granted'),
  placeReader: () => Promise.resolve({ kind: 'here' }),
  refusesNewSessions: () => undefined,
};

/** The requests outside a session that lead to one (refused while draining): DESCRIBE, ANNOUNCE, SETUP. */
export function startsSession(method: string): boolean {
  return method === 'DESCRIBE' || method === 'ANNOUNCE' || method === 'SETUP';
}
