/**
 * The RTMP chunk stream (Adobe RTMP specification 1.0, §5.3): messages cut into chunks of the
 * negotiated size, interleaved over chunk stream ids, each chunk with a basic header (fmt + csid,
 * §5.3.1.1) and a message header of type 0-3 (§5.3.1.2) whose fields are deltas against the previous
 * chunk of the same chunk stream; a 24-bit timestamp field of 0xFFFFFF means a 32-bit extended
 * timestamp follows (§5.3.1.3), which type-3 chunks of that message repeat (as ffmpeg, librtmp and
 * OBS send it).
 *
 * The reader is sans-I/O and holds a hostile peer to bounds: chunk streams in use, bytes of one
 * message, bytes held for reassembly over all chunk streams. Breaking one throws ParseError with a
 * stable code (the connection counts it and closes). Set Chunk Size (type 1) and Abort (type 2) act
 * on the reader itself, at once: the next chunk, in the same buffer, is already cut to the new size.
 */
import { ParseError } from '../base/errors.js';
import { MessageType, type RtmpMessage } from './messages.js';

export interface ChunkReaderLimits {
  /** Chunk streams a peer may keep open at once (each holds a header and maybe a partial message). */
  maxChunkStreams: number;
  /** Largest message length accepted (the header says up to 16 MiB). */
  maxMessageBytes: number;
  /** Bytes of partial messages held over all chunk streams. */
  maxReassemblyBytes: number;
}

export const DEFAULT_CHUNK_READER_LIMITS: ChunkReaderLimits = {
  maxChunkStreams: 64,
  maxMessageBytes: 4 * 1024 * 1024,
  maxReassemblyBytes: 8 * 1024 * 1024,
};

export const ChunkErrorCode = {
  ChunkSize: 'RTMP_BAD_CHUNK_SIZE',
  TooManyChunkStreams: 'RTMP_TOO_MANY_CHUNK_STREAMS',
  MessageTooLarge: 'RTMP_MESSAGE_TOO_LARGE',
  ReassemblyFull: 'RTMP_REASSEMBLY_FULL',
  NoPreviousHeader: 'RTMP_NO_PREVIOUS_HEADER',
  BadControl: 'RTMP_BAD_CONTROL',
} as const;

/** The smallest and largest chunk sizes (§5.4.1: 31 bits; 1 is legal, if wasteful). */
export const MIN_CHUNK_SIZE = 1;
export const MAX_CHUNK_SIZE = 0x7fffffff;
export const DEFAULT_CHUNK_SIZE = 128;
const EXTENDED = 0xffffff;

interface ChunkStreamState {
  timestamp: number;
  timestampDelta: number;
  length: number;
  typeId: number;
  messageStreamId: number;
  extended: boolean;
  /** The message being reassembled, and how much of it has come. */
  partial: Buffer | undefined;
  received: number;
}

/** Parses a Set Chunk Size payload (§5.4.1); ParseError for 0 or more than 31 bits. */
export function parseSetChunkSize(payload: Buffer): number {
  if (payload.length < 4) throw new ParseError(ChunkErrorCode.BadControl, 'Set Chunk Size: short payload');
  const size = payload.readUInt32BE(0);
  if (size < MIN_CHUNK_SIZE || size > MAX_CHUNK_SIZE)
    throw new ParseError(ChunkErrorCode.ChunkSize, `Set Chunk Size: ${size} out of range`);
  return size;
}

export class ChunkReader {
  chunkSize = DEFAULT_CHUNK_SIZE;
  private readonly streams = new Map<number, ChunkStreamState>();
  private pending: Buffer = Buffer.alloc(0);
  private heldBytes = 0;

  constructor(private readonly limits: ChunkReaderLimits = DEFAULT_CHUNK_READER_LIMITS) {}

  /** Bytes held: unparsed input plus partial messages. */
  get bufferedBytes(): number {
    return this.pending.length + this.heldBytes;
  }

  /** Feeds bytes; returns the messages they complete, in order. Throws ParseError on a breach. */
  push(data: Buffer): RtmpMessage[] {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    const out: RtmpMessage[] = [];
    let pos = 0;
    for (;;) {
      const used = this.readChunk(this.pending, pos, out);
      if (used === 0) break;
      pos += used;
    }
    this.pending = pos === this.pending.length ? Buffer.alloc(0) : Buffer.from(this.pending.subarray(pos));
    if (this.pending.length > this.chunkSizeBound() + 18)
      throw new ParseError(ChunkErrorCode.ReassemblyFull, 'RTMP: unparsed bytes beyond one chunk');
    return out;
  }

  /** A chunk's payload is at most min(chunk size, message length): unparsed input never exceeds it. */
  private chunkSizeBound(): number {
    return Math.min(this.chunkSize, this.limits.maxMessageBytes) + 64 * 1024;
  }

  /** Reads one chunk at `pos`: the bytes it took, or 0 when it is not all there yet. */
  private readChunk(buf: Buffer, start: number, out: RtmpMessage[]): number {
    let pos = start;
    if (pos >= buf.length) return 0;
    const b0 = buf[pos++]!;
    const fmt = b0 >> 6;
    let csid = b0 & 0x3f;
    if (csid === 0) {
      if (pos + 1 > buf.length) return 0;
      csid = 64 + buf[pos++]!;
    } else if (csid === 1) {
      if (pos + 2 > buf.length) return 0;
      csid = 64 + buf[pos]! + buf[pos + 1]! * 256;
      pos += 2;
    }
    const headerBytes = [11, 7, 3, 0][fmt]!;
    if (pos + headerBytes > buf.length) return 0;
    let state = this.streams.get(csid);
    if (state === undefined) {
      if (fmt !== 0)
        throw new ParseError(
          ChunkErrorCode.NoPreviousHeader,
          `RTMP: chunk type ${fmt} opens chunk stream ${csid}`,
        );
      if (this.streams.size >= this.limits.maxChunkStreams)
        throw new ParseError(ChunkErrorCode.TooManyChunkStreams, 'RTMP: too many chunk streams');
    }
    // A type-0 header inside a message starts a new one; the unfinished one is dropped.
    const starting = state?.partial === undefined || fmt === 0;
    let tsField = 0;
    let length = state?.length ?? 0;
    let typeId = state?.typeId ?? 0;
    let messageStreamId = state?.messageStreamId ?? 0;
    if (fmt <= 2) tsField = buf.readUIntBE(pos, 3);
    if (fmt <= 1) {
      length = buf.readUIntBE(pos + 3, 3);
      typeId = buf[pos + 6]!;
    }
    if (fmt === 0) messageStreamId = buf.readUInt32LE(pos + 7);
    pos += headerBytes;
    // Type 3 repeats the extended timestamp of its chunk stream's last header (§5.3.1.3).
    const extended = fmt <= 2 ? tsField === EXTENDED : (state?.extended ?? false);
    if (extended) {
      if (pos + 4 > buf.length) return 0;
      if (fmt <= 2) tsField = buf.readUInt32BE(pos);
      pos += 4;
    }
    if (fmt <= 1 && length > this.limits.maxMessageBytes)
      throw new ParseError(ChunkErrorCode.MessageTooLarge, `RTMP: message of ${length} bytes`);
    if (fmt !== 0 && !starting && fmt !== 3)
      throw new ParseError(ChunkErrorCode.NoPreviousHeader, 'RTMP: new header inside a message');
    const received = starting ? 0 : state!.received;
    const take = Math.min(this.chunkSize, length - received);
    if (pos + take > buf.length) return 0;

    // The whole chunk is here: commit the header.
    if (state === undefined) {
      state = {
        timestamp: 0,
        timestampDelta: 0,
        length,
        typeId,
        messageStreamId,
        extended,
        partial: undefined,
        received: 0,
      };
      this.streams.set(csid, state);
    }
    if (starting) {
      if (state.partial !== undefined) {
        this.heldBytes -= state.length;
        state.partial = undefined;
      }
      if (fmt === 0) {
        state.timestamp = tsField;
        state.timestampDelta = 0;
      } else if (fmt === 3) {
        state.timestamp = (state.timestamp + state.timestampDelta) >>> 0;
      } else {
        state.timestampDelta = tsField;
        state.timestamp = (state.timestamp + tsField) >>> 0;
      }
      state.length = length;
      state.typeId = typeId;
      state.messageStreamId = messageStreamId;
      if (fmt <= 2) state.extended = extended;
      if (length > 0 && take < length) {
        if (this.heldBytes + length > this.limits.maxReassemblyBytes)
          throw new ParseError(ChunkErrorCode.ReassemblyFull, 'RTMP: too many bytes held for reassembly');
        state.partial = Buffer.allocUnsafe(length);
        this.heldBytes += length;
        state.received = 0;
      }
    }
    const data = buf.subarray(pos, pos + take);
    pos += take;
    if (state.partial === undefined) {
      // A message in one chunk: no copy beyond the one `push` made of the leftover.
      this.complete(csid, state, Buffer.from(data), out);
    } else {
      data.copy(state.partial, received);
      state.received = received + take;
      if (state.received === state.length) {
        const payload = state.partial;
        state.partial = undefined;
        this.heldBytes -= state.length;
        this.complete(csid, state, payload, out);
      }
    }
    return pos - start;
  }

  private complete(csid: number, state: ChunkStreamState, payload: Buffer, out: RtmpMessage[]): void {
    const msg: RtmpMessage = {
      chunkStreamId: csid,
      timestamp: state.timestamp,
      typeId: state.typeId,
      messageStreamId: state.messageStreamId,
      payload,
    };
    // The chunk layer's own control messages act here, before the next chunk is read (§5.4.1, §5.4.2).
    if (msg.messageStreamId === 0 && msg.typeId === MessageType.SetChunkSize)
      this.chunkSize = parseSetChunkSize(payload);
    else if (msg.messageStreamId === 0 && msg.typeId === MessageType.Abort) this.abort(payload);
    out.push(msg);
  }

  private abort(payload: Buffer): void {
    if (payload.length < 4) throw new ParseError(ChunkErrorCode.BadControl, 'Abort: short payload');
    const state = this.streams.get(payload.readUInt32BE(0));
    if (state?.partial === undefined) return;
    this.heldBytes -= state.length;
    state.partial = undefined;
  }
}

/** Writes messages as chunks of `chunkSize`: a type-0 header, then type-3 chunks (§5.3.1). */
export class ChunkWriter {
  chunkSize = DEFAULT_CHUNK_SIZE;

  /** The bytes of `msg`, chunked. */
  serialize(msg: RtmpMessage): Buffer[] {
    const { chunkStreamId: csid, payload } = msg;
    if (csid < 2 || csid > 65599) throw new RangeError(`chunk stream id ${csid}`);
    if (payload.length > 0xffffff) throw new RangeError('message longer than 16 MiB');
    const timestamp = msg.timestamp >>> 0;
    const extended = timestamp >= EXTENDED;
    const basic = (fmt: number): Buffer =>
      csid < 64
        ? Buffer.from([(fmt << 6) | csid])
        : csid < 320
          ? Buffer.from([fmt << 6, csid - 64])
          : Buffer.from([(fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8]);
    const ext = Buffer.alloc(extended ? 4 : 0);
    if (extended) ext.writeUInt32BE(timestamp);
    const header = Buffer.alloc(11);
    header.writeUIntBE(extended ? EXTENDED : timestamp, 0, 3);
    header.writeUIntBE(payload.length, 3, 3);
    header[6] = msg.typeId;
    header.writeUInt32LE(msg.messageStreamId, 7);
    const out: Buffer[] = [basic(0), header, ext];
    let pos = 0;
    do {
      if (pos > 0) out.push(basic(3), ext);
      const end = Math.min(payload.length, pos + this.chunkSize);
      out.push(payload.subarray(pos, end));
      pos = end;
    } while (pos < payload.length);
    return out;
  }
}
