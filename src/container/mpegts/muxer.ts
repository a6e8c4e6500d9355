/**
 * MPEG-2 transport stream writer (ISO/IEC 13818-1), sans-I/O: access units in, 188-byte packets out.
 *
 *   const mux = new TsMuxer([{ codec: 'h264', parameterSets: [sps, pps] }, { codec: 'aac', aac: cfg }]);
 *   out.write(mux.writeAccessUnit(0, au));   // a whole number of TS packets (PAT/PMT first when due)
 *
 * One program (number 1), PMT on PID 0x1000, track i on PID 0x100 + i. Stream types: H.264 0x1b, H.265
 * 0x24 (Annex-B byte streams, ITU-T H.222.0 §2.14 / Amd.3), AAC 0x0f (ADTS), Opus 0x06 with the 'Opus'
 * registration descriptor and the DVB extension descriptor carrying the channel configuration (ETSI TS 102
 * 366 style mapping used by ffmpeg and GStreamer, "Opus in MPEG-TS", opus-codec.org).
 *
 * Video access units get an access unit delimiter (required in TS by H.222.0 §2.14.1 / §2.17) and, on
 * keyframes that lack them, the parameter sets last seen (in band or from the SDP), so that every
 * keyframe is a random access point. PAT and PMT are repeated before each keyframe of the PCR track and
 * at least every PSI_INTERVAL_90K; a file cut anywhere after the first keyframe therefore decodes.
 *
 * Timing. Access units carry pts (and dts when it differs) in ticks of their clock rate on a timeline
 * shared by all tracks (the caller aligns the tracks); they are converted to 90 kHz and shifted by
 * TIMESTAMP_OFFSET_90K so that PCR can lead DTS. PCR is written on the PCR track (the first video track,
 * else track 0) in the adaptation field of every PES start, PCR_LEAD_90K before the access unit's DTS:
 * at 25 fps that is every 40 ms, within the 100 ms of §2.7.2. Timestamps wrap at 2^33 as the standard
 * wants. Each PID has its own 4-bit continuity counter (§2.4.3.3).
 */
import { buildAdtsHeader } from '../../codec/aac.js';
import { H264NalType, H264_PARAMETER_SET_TYPES, h264NalType, isH264Vcl } from '../../codec/h264.js';
import { H265NalType, H265_PARAMETER_SET_TYPES, h265NalType, isH265Vcl } from '../../codec/h265.js';
import { joinAnnexB } from '../../codec/nal.js';
import type { AccessUnit } from '../../format/access-unit.js';
import { crc32Mpeg2 } from './crc32.js';

export const TS_PACKET_SIZE = 188;
const SYNC_BYTE = 0x47;
const PAT_PID = 0x0000;
export const PMT_PID = 0x1000;
export const FIRST_ES_PID = 0x100;
const PROGRAM_NUMBER = 1;
const TS_CLOCK = 90_000;
const WRAP_33 = 2 ** 33;
/** PTS/DTS offset from the shared timeline's zero: 1.4 s, as ffmpeg's muxer (leaves room for PCR). */
export const TIMESTAMP_OFFSET_90K = 126_000;
/** PCR runs this far ahead of the DTS it precedes (the decoder's buffering delay). */
export const PCR_LEAD_90K = 63_000;
/** PAT/PMT at least this often (0.5 s) even without keyframes (audio-only streams). */
const PSI_INTERVAL_90K = 45_000;

export type TsCodec = 'h264' | 'h265' | 'aac' | 'opus';

export interface TsTrack {
  codec: TsCodec;
  /** H.264/H.265: parameter sets (SPS, PPS; VPS) to put before keyframes that lack them, e.g. from the SDP. */
  parameterSets?: readonly Buffer[];
  /** AAC: the AudioSpecificConfig fields the ADTS header repeats. Required for AAC. */
  aac?: { objectType: number; sampleRate: number; channelConfiguration: number };
  /** Opus: 1 or 2 channels (default 2). */
  channels?: number;
}

export const STREAM_TYPES: Readonly<Record<TsCodec, number>> = {
  h264: 0x1b,
  h265: 0x24,
  aac: 0x0f,
  opus: 0x06,
};

interface TrackState {
  config: TsTrack;
  pid: number;
  video: boolean;
  cc: number;
  params: Map<number, Buffer>;
  paramTypes: readonly number[];
  started: boolean;
}

export interface TsMuxerStats {
  packets: number;
  accessUnits: number;
  /** Video access units dropped before the first keyframe of their track. */
  skippedBeforeKeyframe: number;
}

export class TsMuxer {
  readonly #tracks: TrackState[];
  readonly #pcrIndex: number;
  #patCc = 0;
  #pmtCc = 0;
  #lastPsi90k: number | undefined;
  readonly stats: TsMuxerStats = { packets: 0, accessUnits: 0, skippedBeforeKeyframe: 0 };

  constructor(tracks: readonly TsTrack[]) {
    if (tracks.length === 0) throw new RangeError('TsMuxer needs at least one track');
    this.#tracks = tracks.map((config, i) => {
      const video = config.codec === 'h264' || config.codec === 'h265';
      if (config.codec === 'aac' && config.aac === undefined)
        throw new RangeError(`track ${i}: AAC needs its config (aac) for ADTS`);
      const paramTypes =
        config.codec === 'h264'
          ? H264_PARAMETER_SET_TYPES
          : config.codec === 'h265'
            ? H265_PARAMETER_SET_TYPES
            : [];
      const st: TrackState = {
        config,
        pid: FIRST_ES_PID + i,
        video,
        cc: 0,
        params: new Map(),
        paramTypes,
        started: !video,
      };
      if (video) this.#noteParams(st, config.parameterSets ?? []);
      return st;
    });
    const firstVideo = this.#tracks.findIndex((t) => t.video);
    this.#pcrIndex = firstVideo >= 0 ? firstVideo : 0;
  }

  get pcrPid(): number {
    return FIRST_ES_PID + this.#pcrIndex;
  }

  /**
   * The TS packets of one access unit of `track` (possibly preceded by PAT/PMT), concatenated: a
   * multiple of 188 bytes, empty when the unit is skipped (video before its first keyframe).
   */
  writeAccessUnit(track: number, au: AccessUnit): Buffer {
    const st = this.#tracks[track];
    if (st === undefined) throw new RangeError(`no track ${track}`);
    const pts90 = to90k(au.pts, au.clockRate);
    const dts90 = au.dts === undefined ? pts90 : to90k(au.dts, au.clockRate);
    let es: Buffer;
    if (st.video) {
      if (!st.started && !au.keyframe) {
        this.stats.skippedBeforeKeyframe++;
        return Buffer.alloc(0);
      }
      st.started = true;
      es = this.#videoPayload(st, au);
    } else {
      es = this.#audioPayload(st, au);
    }
    const out: Buffer[] = [];
    const isPcr = track === this.#pcrIndex;
    if (
      this.#lastPsi90k === undefined ||
      (isPcr && au.keyframe && st.video) ||
      dts90 - this.#lastPsi90k >= PSI_INTERVAL_90K ||
      dts90 < this.#lastPsi90k
    ) {
      out.push(this.#pat(), this.#pmt());
      this.#lastPsi90k = dts90;
    }
    const pes = pesPacket(st, es, pts90, au.dts === undefined ? undefined : dts90);
    out.push(
      this.#packetize(st, pes, {
        pcr: isPcr ? mod33(dts90 + TIMESTAMP_OFFSET_90K - PCR_LEAD_90K) : undefined,
        randomAccess: au.keyframe && st.video,
      }),
    );
    this.stats.accessUnits++;
    const buf = Buffer.concat(out);
    this.stats.packets += buf.length / TS_PACKET_SIZE;
    return buf;
  }

  /** PAT and PMT alone (e.g. to start a file before any media arrives). */
  writeTables(): Buffer {
    this.stats.packets += 2;
    return Buffer.concat([this.#pat(), this.#pmt()]);
  }

  // --- elementary streams ---

  #type(st: TrackState, nal: Buffer): number {
    return st.config.codec === 'h264' ? h264NalType(nal) : h265NalType(nal);
  }

  #noteParams(st: TrackState, nalus: readonly Buffer[]): void {
    for (const n of nalus) {
      if (n.length === 0) continue;
      const t = this.#type(st, n);
      if (st.paramTypes.includes(t)) st.params.set(t, n);
    }
  }

  #videoPayload(st: TrackState, au: AccessUnit): Buffer {
    const nalus = (au.nalus ?? []).filter((n) => n.length > 0);
    this.#noteParams(st, nalus);
    const h264 = st.config.codec === 'h264';
    const audType = h264 ? H264NalType.Aud : H265NalType.Aud;
    let body = nalus.filter((n) => this.#type(st, n) !== audType);
    if (au.keyframe) {
      const present = new Set(body.map((n) => this.#type(st, n)));
      const missing = st.paramTypes
        .filter((t) => !present.has(t))
        .map((t) => st.params.get(t))
        .filter((b): b is Buffer => b !== undefined);
      if (missing.length > 0) {
        const isVcl = h264 ? isH264Vcl : isH265Vcl;
        let at = body.findIndex((n) => isVcl(this.#type(st, n)));
        if (at < 0) at = body.length;
        body = [...body.slice(0, at), ...missing, ...body.slice(at)];
      }
    }
    // H.264 AUD: primary_pic_type 7 (any); H.265 AUD (type 35, TemporalId 0): pic_type 2 (any).
    const aud = h264 ? Buffer.from([0x09, 0xf0]) : Buffer.from([0x46, 0x01, 0x50]);
    return joinAnnexB([aud, ...body]);
  }

  #audioPayload(st: TrackState, au: AccessUnit): Buffer {
    const payload = au.payload ?? Buffer.alloc(0);
    if (st.config.codec === 'aac')
      return Buffer.concat([buildAdtsHeader(st.config.aac!, payload.length), payload]);
    // Opus: opus_control_header (prefix 0x3ff, no trims, no extension) then au_size as 0xff... + rest.
    const size: number[] = [];
    let n = payload.length;
    while (n >= 255) {
      size.push(0xff);
      n -= 255;
    }
    size.push(n);
    return Buffer.concat([Buffer.from([0x7f, 0xe0, ...size]), payload]);
  }

  // --- tables ---

  #pat(): Buffer {
    const section = psiSection(0x00, 0x0001, [
      Buffer.from([PROGRAM_NUMBER >> 8, PROGRAM_NUMBER & 0xff, 0xe0 | (PMT_PID >> 8), PMT_PID & 0xff]),
    ]);
    const pkt = sectionPacket(PAT_PID, this.#patCc, section);
    this.#patCc = (this.#patCc + 1) & 0x0f;
    return pkt;
  }

  #pmt(): Buffer {
    const pcrPid = this.pcrPid;
    const head = Buffer.from([0xe0 | (pcrPid >> 8), pcrPid & 0xff, 0xf0, 0x00]); // no program descriptors
    const entries = this.#tracks.map((st) => {
      const desc: number[] = [];
      if (st.config.codec === 'opus') {
        desc.push(0x05, 4, 0x4f, 0x70, 0x75, 0x73); // registration_descriptor 'Opus'
        desc.push(0x7f, 2, 0x80, st.config.channels ?? 2); // DVB extension: opus channel config
      }
      return Buffer.from([
        STREAM_TYPES[st.config.codec],
        0xe0 | (st.pid >> 8),
        st.pid & 0xff,
        0xf0 | (desc.length >> 8),
        desc.length & 0xff,
        ...desc,
      ]);
    });
    const section = psiSection(0x02, PROGRAM_NUMBER, [head, ...entries]);
    const pkt = sectionPacket(PMT_PID, this.#pmtCc, section);
    this.#pmtCc = (this.#pmtCc + 1) & 0x0f;
    return pkt;
  }

  // --- transport packets ---

  /** Splits a PES packet into TS packets; the first carries PUSI and the adaptation field (PCR, RAI). */
  #packetize(st: TrackState, pes: Buffer, first: { pcr: number | undefined; randomAccess: boolean }): Buffer {
    const packets: Buffer[] = [];
    let offset = 0;
    let isFirst = true;
    while (offset < pes.length) {
      const pkt = Buffer.alloc(TS_PACKET_SIZE, 0xff);
      pkt[0] = SYNC_BYTE;
      pkt[1] = (isFirst ? 0x40 : 0) | (st.pid >> 8);
      pkt[2] = st.pid & 0xff;
      // Adaptation field body (after its length byte): flags, then PCR when present.
      let af: Buffer | undefined;
      if (isFirst && (first.pcr !== undefined || first.randomAccess)) {
        const flags = (first.randomAccess ? 0x40 : 0) | (first.pcr !== undefined ? 0x10 : 0);
        af =
          first.pcr !== undefined
            ? Buffer.concat([Buffer.from([flags]), pcrField(first.pcr)])
            : Buffer.from([flags]);
      }
      const afBytes = af === undefined ? 0 : 1 + af.length;
      const room = TS_PACKET_SIZE - 4 - afBytes;
      const remaining = pes.length - offset;
      let stuffing = 0;
      if (remaining < room) stuffing = room - remaining;
      if (stuffing > 0 && af === undefined) {
        // An adaptation field only for stuffing: 1 length byte (+1 flags byte when the length is > 0).
        af = stuffing >= 2 ? Buffer.from([0x00]) : Buffer.alloc(0);
        stuffing -= stuffing >= 2 ? 2 : 1;
      }
      let o = 4;
      if (af !== undefined) {
        pkt[3] = 0x30 | st.cc; // adaptation field and payload
        pkt[o++] = af.length + stuffing;
        af.copy(pkt, o);
        o += af.length;
        o += stuffing; // stuffing bytes are 0xff already
      } else {
        pkt[3] = 0x10 | st.cc; // payload only
      }
      const n = TS_PACKET_SIZE - o;
      pes.copy(pkt, o, offset, offset + n);
      offset += n;
      st.cc = (st.cc + 1) & 0x0f;
      isFirst = false;
      packets.push(pkt);
    }
    return Buffer.concat(packets);
  }
}

function mod33(v: number): number {
  return ((v % WRAP_33) + WRAP_33) % WRAP_33;
}

function to90k(ticks: number, clockRate: number): number {
  return Math.round((ticks * TS_CLOCK) / clockRate);
}

/** 5-byte PTS/DTS field (§2.4.3.7) with the 4-bit prefix. */
function timestampField(prefix: number, ts90: number): Buffer {
  const v = mod33(ts90 + TIMESTAMP_OFFSET_90K);
  const hi = Math.floor(v / 2 ** 30); // bits 32..30
  const mid = Math.floor(v / 2 ** 15) & 0x7fff; // bits 29..15
  const lo = v & 0x7fff; // bits 14..0
  return Buffer.from([
    (prefix << 4) | (hi << 1) | 1,
    mid >> 7,
    ((mid & 0x7f) << 1) | 1,
    lo >> 7,
    ((lo & 0x7f) << 1) | 1,
  ]);
}

/** 6-byte PCR (§2.4.3.5): 33-bit base, 6 reserved bits, 9-bit extension 0. */
function pcrField(base: number): Buffer {
  const b = Buffer.alloc(6);
  const hi = Math.floor(base / 2); // top 32 bits of the 33-bit base
  b.writeUInt32BE(hi >>> 0, 0);
  b[4] = ((base & 1) << 7) | 0x7e;
  b[5] = 0x00;
  return b;
}

function pesPacket(st: TrackState, es: Buffer, pts90: number, dts90: number | undefined): Buffer {
  const streamId = st.video ? 0xe0 : st.config.codec === 'opus' ? 0xbd : 0xc0;
  const withDts = dts90 !== undefined && dts90 !== pts90;
  const optional = withDts
    ? Buffer.concat([timestampField(0x3, pts90), timestampField(0x1, dts90)])
    : timestampField(0x2, pts90);
  const header = Buffer.from([
    0x00,
    0x00,
    0x01,
    streamId,
    0x00,
    0x00, // PES_packet_length, below
    0x80, // '10', no scrambling, no priority, no alignment flag, no copyright, original
    withDts ? 0xc0 : 0x80,
    optional.length,
  ]);
  const length = 3 + optional.length + es.length;
  // Video may use 0 (unbounded, §2.4.3.7); audio and oversize-free units carry the real length.
  header.writeUInt16BE(st.video || length > 0xffff ? 0 : length, 4);
  return Buffer.concat([header, optional, es]);
}

/** A long-form PSI section (§2.4.4) with its CRC: table id, id extension, version 0, current. */
function psiSection(tableId: number, idExtension: number, body: readonly Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  const sectionLength = 5 + payload.length + 4;
  const head = Buffer.from([
    tableId,
    0xb0 | (sectionLength >> 8),
    sectionLength & 0xff,
    idExtension >> 8,
    idExtension & 0xff,
    0xc1, // reserved, version 0, current_next 1
    0x00, // section_number
    0x00, // last_section_number
  ]);
  const withoutCrc = Buffer.concat([head, payload]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32Mpeg2(withoutCrc), 0);
  return Buffer.concat([withoutCrc, crc]);
}

function sectionPacket(pid: number, cc: number, section: Buffer): Buffer {
  if (section.length > TS_PACKET_SIZE - 5) throw new RangeError('PSI section larger than one packet');
  const pkt = Buffer.alloc(TS_PACKET_SIZE, 0xff);
  pkt[0] = SYNC_BYTE;
  pkt[1] = 0x40 | (pid >> 8);
  pkt[2] = pid & 0xff;
  pkt[3] = 0x10 | cc;
  pkt[4] = 0x00; // pointer_field
  section.copy(pkt, 5);
  return pkt;
}
