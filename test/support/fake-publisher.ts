/**
 * A scripted publisher over TCP interleaved: ANNOUNCE an H.264 + AAC SDP, SETUP, RECORD, then
 * frames on demand. Keyframes are SPS + PPS + IDR with one timestamp, the marker on the last.
 */
import { serializeRtpPacket } from '../../src/rtp/packet.js';
import { RawClient, sessionId } from './raw-client.js';

export const TEST_SDP = [
  'v=0',
  'o=- 0 0 IN IP4 127.0.0.1',
  's=test',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=video 0 RTP/AVP 96',
  'a=rtpmap:96 H264/90000',
  'a=fmtp:96 packetization-mode=1; sprop-parameter-sets=Z0LAHtkAoC/5YQAAAwABAAADADIPFi5I,aMuMsg==; profile-level-id=42C01E',
  'a=control:streamid=0',
  'm=audio 0 RTP/AVP 97',
  'a=rtpmap:97 MPEG4-GENERIC/48000/2',
  'a=fmtp:97 profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3; config=119056E500',
  'a=control:streamid=1',
  '',
].join('\r\n');

export class FakePublisher {
  private seq = [1000, 5000];
  private ts = [90000, 48000];
  frames = 0;
  packetsSent = [0, 0];

  private constructor(
    readonly client: RawClient,
    readonly session: string,
  ) {}

  static async start(port: number, path: string): Promise<FakePublisher> {
    const url = `rtsp://127.0.0.1:${port}/${path}`;
    const c = await RawClient.connect(port);
    const a = await c.request('ANNOUNCE', url, { 'Content-Type': 'application/sdp' }, TEST_SDP);
    if (a.statusCode !== 200) throw new Error(`ANNOUNCE ${a.statusCode} ${a.reason}`);
    const s1 = await c.request('SETUP', `${url}/streamid=0`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1;mode=record',
    });
    if (s1.statusCode !== 200) throw new Error(`SETUP ${s1.statusCode}`);
    const id = sessionId(s1);
    const s2 = await c.request('SETUP', `${url}/streamid=1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=2-3;mode=record',
      Session: id,
    });
    if (s2.statusCode !== 200) throw new Error(`SETUP ${s2.statusCode}`);
    const r = await c.request('RECORD', url, { Session: id, Range: 'npt=0.000-' });
    if (r.statusCode !== 200) throw new Error(`RECORD ${r.statusCode}`);
    return new FakePublisher(c, id);
  }

  private packet(track: number, payload: Buffer, marker: boolean): Buffer {
    const p = serializeRtpPacket({
      marker,
      payloadType: track === 0 ? 96 : 97,
      sequenceNumber: this.seq[track]!,
      timestamp: this.ts[track]!,
      ssrc: track === 0 ? 0x11111111 : 0x22222222,
      csrcs: [],
      payload,
    });
    this.seq[track] = (this.seq[track]! + 1) & 0xffff;
    this.packetsSent[track]!++;
    return p;
  }

  /** One video frame (keyframe: SPS, PPS, IDR) and one audio frame. `size` pads the slice. */
  sendFrame(keyframe: boolean, size = 200): void {
    const nals = keyframe
      ? [
          Buffer.from([0x67, 0x42, 0xc0, 0x1e]),
          Buffer.from([0x68, 0xcb, 0x8c, 0xb2]),
          Buffer.alloc(size, 0x65),
        ]
      : [Buffer.alloc(size, 0x41)];
    nals.forEach((n, i) => {
      this.client.sendInterleaved(0, this.packet(0, n, i === nals.length - 1));
    });
    this.client.sendInterleaved(2, this.packet(1, Buffer.from([0x00, 0x10, 0x01, 0x00, 0x21, 0x22]), true));
    this.ts[0] = (this.ts[0]! + 3600) >>> 0;
    this.ts[1] = (this.ts[1]! + 1024) >>> 0;
    this.frames++;
  }
}

/** RTP sequence numbers of `frames` on a channel, in arrival order. */
export function sequences(
  frames: readonly { channel: number; payload: Buffer }[],
  channel: number,
): number[] {
  return frames.filter((f) => f.channel === channel).map((f) => f.payload.readUInt16BE(2));
}

export function isContiguous(seqs: readonly number[]): boolean {
  for (let i = 1; i < seqs.length; i++) if (((seqs[i - 1]! + 1) & 0xffff) !== seqs[i]) return false;
  return true;
}
