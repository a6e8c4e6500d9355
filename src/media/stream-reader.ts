/** Why a Stream ended, beyond the reason's words (Stream.end). */
export interface StreamEndInfo {
  /**
   * The path's media description changed (a pulled camera came back with other codec parameters) and
   * the path is fed again right after, with the new media: readers whose client follows a server
   * ANNOUNCE (RFC 2326 §10.3) are told rather than ended.
   */
  mediaChanged?: boolean;
}

/**
 * What a stream asks of its readers (a session's connection or UDP ports, the HLS muxer, a recorder)
 * and what a reader outside the engine may ask of a stream: the contract between media/stream.ts and
 * everything that takes packets from it.
 */
export interface StreamReader {
  /** 'tcp': framed bytes through writeInterleaved; 'udp': one datagram per packet through sendRtp. */
  readonly transport: 'tcp' | 'udp';
  /** For TCP readers: the interleaved RTP channel of each track, undefined where not set up. */
  readonly rtpChannels: readonly (number | undefined)[];
  /** Tracks this reader set up. */
  readonly tracks: readonly number[];
  /** The SSRC this reader was promised per track (SETUP's Transport); random where absent. */
  readonly ssrcs?: readonly (number | undefined)[];
  /**
   * Bytes held for the reader and not yet accepted by the kernel: what its socket has queued, and any
   * buffer a queued write keeps alive beyond its own bytes (what memory it really holds).
   */
  readonly backlogBytes: number;
  /**
   * True while what the stream sends is held by the reader (a session before its PLAY reply is written):
   * a GOP burst then waits for a later event-loop turn rather than being copied to be held (stream-joins.ts).
   */
  readonly outputHeld?: boolean;
  /** `bytes` holds `packets` framed RTP packets. */
  writeInterleaved(bytes: Buffer, packets: number): void;
  /**
   * As writeInterleaved, for bytes the stream reuses for the next reader: returns true when they
   * are no longer referenced (sent, or copied). Optional: without it, the reader gets its own copy.
   */
  writeInterleavedTransient?(bytes: Buffer, packets: number): boolean;
  sendRtp(track: number, packet: Buffer): void;
  /**
   * As sendRtp, for a packet the stream rewrites for the next reader (stream-frames.ts UdpDatagrams):
   * returns true when it is no longer referenced (the datagram is in the kernel), false when the reader
   * keeps it (queued in its socket). Optional: without it, the reader gets its own copy through sendRtp.
   */
  sendRtpTransient?(track: number, packet: Buffer): boolean;
  sendRtcp(track: number, packet: Buffer): void;
  /**
   * The stream ended (publisher left); the reader should end its session. With `info.mediaChanged`,
   * the path is about to be fed again with another media description (server/reader-moves.ts).
   */
  streamEnded(reason: string, info?: StreamEndInfo): void;
  /**
   * The stream has dropped this reader: it shed and its backlog did not drain within the stall
   * bound (reader-backlog.ts). It should close its connection, which frees what is queued there.
   * Optional: readers without it are never cut off.
   */
  cutOff?(reason: string): void;
}

/** What a reader outside the engine (the HLS muxer) needs of a stream: joining, leaving, its end. */
export interface StreamTap {
  /** Joins at the cached keyframe when there is one. */
  addReader(reader: StreamReader): void;
  removeReader(reader: StreamReader): unknown;
  readonly ended: boolean;
  /**
   * The publisher's last RTCP sender report of a track (RFC 3550 §6.4.1: an RTP timestamp and its NTP
   * time, as a Unix ms time), undefined before one came or when the source sends none.
   */
  senderReport?(track: number): { rtpTimestamp: number; ntpUnixMs: number } | undefined;
  /**
   * The instant (our monotonic clock) an RTP timestamp of a track stands for, on the Stream's line for
   * that track (the publisher's sender reports, else the first packet's arrival): what puts tracks on
   * one timeline whatever order and delay their packets come with. Undefined before the track's first
   * packet, or for a source without it.
   */
  monotonicMsOfRtp?(track: number, rtpTimestamp: number): number | undefined;
}

/** What a packet reader is handed: the tracks it reads, its backpressure, each packet, the end. */
export interface PacketReaderHandlers {
  readonly tracks: readonly number[];
  /** Bytes its destination holds and has not sent: above the Stream's bound, the reader sheds. */
  backlogBytes(): number;
  /** One RTP packet of `track`, as the Stream sends it to a UDP reader (its own copy). */
  rtp(track: number, packet: Buffer): void;
  /** The stream ended (the publisher left, the file source stopped, an error). */
  ended(reason: string): void;
}

/**
 * A reader that gets one call per RTP packet, for a consumer in this process that forwards packets
 * (a client publishing a file, a relay): the Stream treats it as a UDP reader, one datagram per packet.
 * The Stream's own RTCP is dropped: the consumer sends its own reports.
 */
export function packetReader(handlers: PacketReaderHandlers): StreamReader {
  return {
    transport: 'udp',
    rtpChannels: [],
    tracks: handlers.tracks,
    get backlogBytes() {
      return handlers.backlogBytes();
    },
    // Only TCP readers are written framed bytes.
    writeInterleaved: () => undefined,
    sendRtp: (track, packet) => {
      handlers.rtp(track, packet);
    },
    sendRtcp: () => undefined,
    streamEnded: (reason) => {
      handlers.ended(reason);
    },
  };
}
