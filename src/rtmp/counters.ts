/** What the RTMP server counts, for `/metrics` (`rtspkit_rtmp_*`). */
export interface RtmpCounters {
  connections: number;
  /** Connections refused at accept: `rtmpMaxConnections` reached. */
  refusedConnections: number;
  publishes: number;
  plays: number;
  /** Connections closed, by reason (every refusal and breach of a bound has its own). */
  closes: {
    handshake: number;
    handshake_timeout: number;
    idle: number;
    protocol: number;
    unknown_command: number;
    chunk_streams: number;
    message_size: number;
    reassembly: number;
    chunk_size: number;
    limit: number;
    busy: number;
    bad_name: number;
    unauthorized: number;
    /** A connect answered with Adobe's challenge (adobe-auth.ts): the client comes back to answer it. */
    auth_challenge: number;
    /** A connect refused a challenge: the bound of pending challenges reached. */
    challenges_full: number;
    not_found: number;
    /** An unexpected exception while handling the connection's input (a bug, logged). */
    fault: number;
  };
}

export function newRtmpCounters(): RtmpCounters {
  return {
    connections: 0,
    refusedConnections: 0,
    publishes: 0,
    plays: 0,
    closes: {
      handshake: 0,
      handshake_timeout: 0,
      idle: 0,
      protocol: 0,
      unknown_command: 0,
      chunk_streams: 0,
      message_size: 0,
      reassembly: 0,
      chunk_size: 0,
      limit: 0,
      busy: 0,
      bad_name: 0,
      unauthorized: 0,
      auth_challenge: 0,
      challenges_full: 0,
      not_found: 0,
      fault: 0,
    },
  };
}
