/**
 * What an RTMP connection sends besides media (connection.ts): `onStatus` objects, data messages,
 * `onMetaData` for a player, and which counted reason a parse error closes a connection with.
 */
import { amf0Object, type Amf0Object } from '../flv/amf0.js';
import { ChunkStreamId, MessageType, type RtmpMessage } from '../flv/messages.js';
import type { PublishedMedia } from '../media/published-media.js';
import type { RtmpCounters } from './counters.js';

/** The media a claimed path shows before the publisher's headers came (it has no Stream yet). */
export const PENDING_MEDIA: PublishedMedia = { describeSdp: () => '', tracks: [], controls: [] };

export function status(level: string, code: string, description: string): Amf0Object {
  return amf0Object({ level, code, description });
}

export function dataMessage(messageStreamId: number, payload: Buffer): RtmpMessage {
  return {
    chunkStreamId: ChunkStreamId.Data,
    timestamp: 0,
    typeId: MessageType.DataAmf0,
    messageStreamId,
    payload,
  };
}

/** onMetaData for a player (FLV E.5): which codecs come; players read the sequence headers for the rest. */
export function metadataOf(media: {
  tracks: readonly { encodingName: string; clockRate: number }[];
}): Record<string, number> {
  const meta: Record<string, number> = {};
  for (const t of media.tracks) {
    const name = t.encodingName.toUpperCase();
    if (name === 'H264' && meta.videocodecid === undefined) meta.videocodecid = 7;
    if (name === 'H265' && meta.videocodecid === undefined) meta.videocodecid = 0x68766331;
    if (name === 'MPEG4-GENERIC' && meta.audiocodecid === undefined) {
      meta.audiocodecid = 10;
      meta.audiosamplerate = t.clockRate;
    }
    if (name === 'OPUS' && meta.audiocodecid === undefined) meta.audiocodecid = 0x4f707573;
  }
  return meta;
}

export function closeReasonOf(code: string): keyof RtmpCounters['closes'] {
  switch (code) {
    case 'RTMP_TOO_MANY_CHUNK_STREAMS':
      return 'chunk_streams';
    case 'RTMP_MESSAGE_TOO_LARGE':
      return 'message_size';
    case 'RTMP_REASSEMBLY_FULL':
      return 'reassembly';
    case 'RTMP_BAD_CHUNK_SIZE':
      return 'chunk_size';
    case 'RTMP_HANDSHAKE':
    case 'RTMP_HANDSHAKE_VERSION':
      return 'handshake';
    default:
      return 'protocol';
  }
}
