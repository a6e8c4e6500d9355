/**
 * From a publisher's ANNOUNCE SDP to what the server keeps: the tracks, the publisher's own
 * control URLs (ffmpeg writes `streamid=N`, GStreamer `stream=N`) and the SDP readers get.
 */
import { ParseError } from '../base/errors.js';
import { getControl, removeAttribute, setAttribute } from '../sdp/attributes.js';
import { mediaFormats } from '../sdp/formats.js';
import { parseSdp } from '../sdp/parse.js';
import { serializeSdp } from '../sdp/serialize.js';
import type { SessionDescription } from '../sdp/types.js';
import type { PublishedMedia } from '../media/published-media.js';

export type AnnouncedMedia = PublishedMedia;

/** Throws ParseError when the SDP is unusable. */
export function parseAnnouncedSdp(text: string): AnnouncedMedia {
  const sd = parseSdp(text);
  const tracks: AnnouncedMedia['tracks'][number][] = [];
  const controls: (string | undefined)[] = [];
  const kept: SessionDescription['media'] = [];
  for (const md of sd.media) {
    if (!/^RTP\//i.test(md.protocol)) continue;
    const format = mediaFormats(md)[0];
    if (format === undefined) continue;
    tracks.push({
      payloadType: format.payloadType,
      encodingName: format.encodingName,
      clockRate: format.clockRate,
      fmtp: format.fmtp.toRecord(),
    });
    controls.push(getControl(md));
    kept.push(md);
  }
  if (tracks.length === 0)
    throw new ParseError('SDP_NO_MEDIA', 'the SDP has no RTP media with a known format');
  const describe = readerSdp(sd, kept);
  return { tracks, controls, describeSdp: () => describe };
}

/**
 * The SDP for readers (interop notes): our control URLs `trackID=N` relative to a Content-Base
 * ending in `/`, an aggregate `a=control:*`, `c=IN IP4 0.0.0.0`, port 0, no direction attributes.
 */
function readerSdp(source: SessionDescription, media: SessionDescription['media']): string {
  const sd: SessionDescription = {
    ...source,
    origin: {
      username: '-',
      sessionId: String(Math.floor(Math.random() * 1e9)),
      sessionVersion: '1',
      netType: 'IN',
      addrType: 'IP4',
      unicastAddress: '127.0.0.1',
    },
    connection: { netType: 'IN', addrType: 'IP4', address: '0.0.0.0' },
    times: source.times.length > 0 ? source.times : [{ startTime: 0, stopTime: 0, repeats: [] }],
    attributes: source.attributes.map((a) => ({ ...a })),
    media: media.map((md, i) => {
      const copy = { ...md, port: 0, connections: [], attributes: md.attributes.map((a) => ({ ...a })) };
      for (const dir of ['control', 'sendonly', 'recvonly', 'sendrecv', 'inactive'])
        removeAttribute(copy, dir);
      setAttribute(copy, 'control', `trackID=${i}`);
      return copy;
    }),
  };
  delete sd.lineOrder;
  for (const m of sd.media) delete m.lineOrder;
  for (const name of [
    'control',
    'sendonly',
    'recvonly',
    'sendrecv',
    'inactive',
    'tool',
    'range',
    'ssrc',
    'ssrc-group',
  ])
    removeAttribute(sd, name);
  setAttribute(sd, 'tool', 'rtspkit');
  setAttribute(sd, 'control', '*');
  return serializeSdp(sd);
}

/**
 * Which announced track a publisher's SETUP URL names: by its own control (absolute, or relative
 * to the path, with ffmpeg's `?query/control` shape too), else by `trackID=N`.
 */
export function announcedTrackFor(
  media: AnnouncedMedia,
  uri: string,
  trackId: number | undefined,
): number | undefined {
  const clean = uri.replace(/\/+$/, '');
  for (let i = 0; i < media.controls.length; i++) {
    const c = media.controls[i];
    if (c === undefined || c === '*' || c === '') continue;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(c)) {
      if (clean === c.replace(/\/+$/, '')) return i;
    } else if (clean.endsWith(`/${c.replace(/^\/+/, '')}`)) {
      return i;
    }
  }
  return trackId;
}
