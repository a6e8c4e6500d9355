/**
 * The seam through which a live TCP reader's fan-out may move to another process after its PLAY reply
 * (`fanoutWorkers`, src/fanout/). The server keeps the session, its state and its connection object; the
 * seam only ever takes the socket's bytes elsewhere. Absent: readers are served here, as always.
 */
import type { Stream } from '../media/stream.js';
import type { ServerConnection } from './connection.js';
import type { ServerSession } from './session.js';

export interface ReaderHandoff {
  /**
   * A live reader's PLAY reply was written (its media from `stream` has started here, from the GOP
   * cache): the seam may move its reading when the connection is quiet, or leave it here.
   */
  played(session: ServerSession, conn: ServerConnection, stream: Stream): void;
}
