/**
 * RTMP message types (Adobe RTMP specification 1.0, §5.4 protocol control, §6.2 user control, §7.1
 * commands and data) and the few message bodies the server builds or reads besides AMF0 commands.
 */
import { ParseError } from '../base/errors.js';
import { decodeAmf0, encodeAmf0, asAmf0Object, type Amf0Object, type Amf0Value } from './amf0.js';

/** One RTMP message, as the chunk stream (chunk.ts) carries it. */
export interface RtmpMessage {
  /** Chunk stream id it arrived on (or goes out on). */
  chunkStreamId: number;
  /** Milliseconds (32 bits, wraps). */
  timestamp: number;
  typeId: number;
  messageStreamId: number;
  payload: Buffer;
}

export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  CommandAmf3: 17,
  DataAmf0: 18,
  CommandAmf0: 20,
} as const;

/** User control event types (§6.2). */
export const UserControlEvent = {
  StreamBegin: 0,
  StreamEof: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** Chunk stream ids as ffmpeg and mediamtx use them: control 2, commands 3, audio 4, video 6. */
export const ChunkStreamId = { Control: 2, Command: 3, Audio: 4, Video: 6, Data: 5 } as const;

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

function control(typeId: number, payload: Buffer): RtmpMessage {
  return { chunkStreamId: ChunkStreamId.Control, timestamp: 0, typeId, messageStreamId: 0, payload };
}

export const setChunkSizeMessage = (size: number): RtmpMessage =>
  control(MessageType.SetChunkSize, u32(size));
export const windowAckSizeMessage = (size: number): RtmpMessage =>
  control(MessageType.WindowAckSize, u32(size));
export const acknowledgementMessage = (received: number): RtmpMessage =>
  control(MessageType.Acknowledgement, u32(received));
/** Limit type 2 (dynamic), §5.4.5. */
export const setPeerBandwidthMessage = (size: number): RtmpMessage =>
  control(MessageType.SetPeerBandwidth, Buffer.concat([u32(size), Buffer.from([2])]));

export function userControlMessage(event: number, ...values: number[]): RtmpMessage {
  const payload = Buffer.alloc(2 + 4 * values.length);
  payload.writeUInt16BE(event);
  values.forEach((v, i) => payload.writeUInt32BE(v >>> 0, 2 + 4 * i));
  return control(MessageType.UserControl, payload);
}

/** A user control event (§6.2): its type and first value; ParseError when shorter than 6 bytes. */
export function parseUserControl(payload: Buffer): { event: number; value: number } {
  if (payload.length < 6) throw new ParseError('RTMP_BAD_CONTROL', 'user control message too short');
  return { event: payload.readUInt16BE(0), value: payload.readUInt32BE(2) };
}

/** A 4-byte control value (Window Acknowledgement Size, Acknowledgement). */
export function parseControlValue(payload: Buffer): number {
  if (payload.length < 4) throw new ParseError('RTMP_BAD_CONTROL', 'control message too short');
  return payload.readUInt32BE(0);
}

/** An AMF0 command (§7.1.1): its name, transaction id, command object and further arguments. */
export interface RtmpCommand {
  name: string;
  transactionId: number;
  commandObject: Amf0Object | undefined;
  args: Amf0Value[];
}

/**
 * Reads an AMF0 command, or an AMF3 command (type 17), whose body is AMF0 after one format byte.
 * ParseError when it does not start with a name and a transaction id.
 */
export function parseCommand(msg: Pick<RtmpMessage, 'typeId' | 'payload'>): RtmpCommand {
  const body = msg.typeId === MessageType.CommandAmf3 ? msg.payload.subarray(1) : msg.payload;
  const values = decodeAmf0(body);
  const [name, transactionId, object, ...args] = values;
  if (typeof name !== 'string') throw new ParseError('RTMP_BAD_COMMAND', 'command without a name');
  return {
    name,
    transactionId: typeof transactionId === 'number' ? transactionId : 0,
    commandObject: object === undefined ? undefined : asAmf0Object(object),
    args,
  };
}

/** A command message on the command chunk stream. */
export function commandMessage(messageStreamId: number, ...values: Amf0Value[]): RtmpMessage {
  return {
    chunkStreamId: ChunkStreamId.Command,
    timestamp: 0,
    typeId: MessageType.CommandAmf0,
    messageStreamId,
    payload: encodeAmf0(...values),
  };
}

/**
 * A data message (type 18): `@setDataFrame` is stripped, so `onMetaData` comes out whether the
 * publisher sent it with the prefix (ffmpeg, OBS) or without. ParseError on bad AMF0.
 */
export function parseDataMessage(payload: Buffer): { name: string; values: Amf0Value[] } {
  let values = decodeAmf0(payload);
  if (values[0] === '@setDataFrame') values = values.slice(1);
  const [name, ...rest] = values;
  return { name: typeof name === 'string' ? name : '', values: rest };
}
