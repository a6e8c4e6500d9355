/**
 * Builds small, valid MP4 files from a description of their tracks and samples: the reader's tests use
 * it for every sample-table and edit-list variant, and L3 tests can use it for VOD/loop sources
 * without media files. Samples are laid out in mdat chunk by chunk, round-robin over tracks, with 3
 * junk bytes after each chunk (so offsets are never simply contiguous).
 */
import { ascii, box, fullBox, i16, i32, u16, u32, u64, u8 } from './box-writer.js';

const zeros = (n: number): Buffer => Buffer.alloc(n);

export interface SynthSample {
  size: number;
  duration: number;
  cts?: number;
  key?: boolean;
  data?: Buffer;
}

export interface SynthTrack {
  id: number;
  handler: string;
  timescale: number;
  entry: Buffer;
  samples: SynthSample[];
  /** Samples per chunk; default one chunk. */
  chunks?: number[];
  sizeBox?: 'stsz' | 'stsz-const' | 4 | 8 | 16 | undefined;
  co64?: boolean;
  ctts?: 0 | 1;
  /** 'auto': an stss listing the key samples, omitted if all are key. */
  stss?: 'auto' | 'empty' | 'none';
  elst?: { duration: number; mediaTime: number; rate?: number }[] | undefined;
  elstVersion?: 0 | 1;
}

export interface FileSpec {
  tracks: SynthTrack[];
  moovFirst?: boolean;
  movieTimescale?: number;
  moovExtra?: Buffer[];
}

/** Run-length compresses values into [count, value] pairs. */
function runs(values: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last && last[1] === v) last[0]++;
    else out.push([1, v]);
  }
  return out;
}

export function visualEntry(type: string, width: number, height: number, ...children: Buffer[]): Buffer {
  return box(
    type,
    zeros(6),
    u16(1),
    zeros(16),
    u16(width, height),
    u32(0x480000, 0x480000, 0),
    u16(1),
    zeros(32),
    u16(0x18),
    i16(-1),
    ...children,
  );
}

export function audioEntry(type: string, channels: number, rate: number, ...children: Buffer[]): Buffer {
  return box(
    type,
    zeros(6),
    u16(1),
    u16(0, 0),
    u32(0),
    u16(channels, 16, 0, 0),
    u32(rate * 65536),
    ...children,
  );
}

export function avcC(lengthSize: number, sps: Buffer[], pps: Buffer[]): Buffer {
  return box(
    'avcC',
    u8(1, 0x42, 0xc0, 0x1e, 0xfc | (lengthSize - 1), 0xe0 | sps.length),
    ...sps.flatMap((s) => [u16(s.length), s]),
    u8(pps.length),
    ...pps.flatMap((p) => [u16(p.length), p]),
  );
}

export function esds(oti: number, dsi: Buffer): Buffer {
  const dsiDesc = Buffer.concat([u8(0x05, dsi.length), dsi]);
  const dcd = Buffer.concat([
    u8(0x04, 13 + dsiDesc.length, oti, 0x15),
    zeros(3),
    u32(128000, 128000),
    dsiDesc,
  ]);
  const es = Buffer.concat([u8(0x03, 3 + dcd.length + 3), u16(1), u8(0), dcd, u8(0x06, 1, 2)]);
  return fullBox('esds', 0, 0, es);
}

export const AAC_LC_48K_STEREO = Buffer.from([0x11, 0x90]);

function sampleBytes(t: SynthTrack, i: number): Buffer {
  const s = t.samples[i]!;
  return s.data ?? Buffer.alloc(s.size, (t.id * 37 + i) & 0xff);
}

function trak(t: SynthTrack, base: number, chunkOffsets: number[], movieTs: number): Buffer {
  const n = t.samples.length;
  const total = t.samples.reduce((a, s) => a + s.duration, 0);
  const sizes = t.samples.map((s, i) => s.data?.length ?? t.samples[i]!.size);
  const chunks = t.chunks ?? (n > 0 ? [n] : []);
  const stsc: Buffer[] = [];
  let last = -1;
  const stscEntries: number[][] = [];
  chunks.forEach((per, c) => {
    if (per !== last) stscEntries.push([c + 1, per, 1]);
    last = per;
  });
  for (const e of stscEntries) stsc.push(u32(...e));
  let sizeBox: Buffer;
  const kind = t.sizeBox ?? 'stsz';
  if (kind === 'stsz') sizeBox = fullBox('stsz', 0, 0, u32(0, n, sizes));
  else if (kind === 'stsz-const') sizeBox = fullBox('stsz', 0, 0, u32(sizes[0] ?? 0, n));
  else if (kind === 16) sizeBox = fullBox('stz2', 0, 0, u8(0, 0, 0, 16), u32(n), u16(sizes));
  else if (kind === 8) sizeBox = fullBox('stz2', 0, 0, u8(0, 0, 0, 8), u32(n), u8(sizes));
  else {
    const nib = Buffer.alloc(Math.ceil(n / 2));
    sizes.forEach((s, i) => (nib[i >> 1]! |= i % 2 === 0 ? s << 4 : s));
    sizeBox = fullBox('stz2', 0, 0, u8(0, 0, 0, 4), u32(n), nib);
  }
  const offsets = chunkOffsets.map((o) => o + base);
  const co = t.co64
    ? fullBox('co64', 0, 0, u32(offsets.length), u64(offsets))
    : fullBox('stco', 0, 0, u32(offsets.length, offsets));
  const stts = runs(t.samples.map((s) => s.duration));
  const stbl: Buffer[] = [
    fullBox('stsd', 0, 0, u32(1), t.entry),
    fullBox(
      'stts',
      0,
      0,
      u32(stts.length),
      stts.map(([c, d]) => u32(c, d)),
    ),
  ];
  if (t.ctts !== undefined) {
    const ctts = runs(t.samples.map((s) => s.cts ?? 0));
    stbl.push(
      fullBox(
        'ctts',
        t.ctts,
        0,
        u32(ctts.length),
        ctts.map(([c, o]) => Buffer.concat([u32(c), i32(o)])),
      ),
    );
  }
  stbl.push(fullBox('stsc', 0, 0, u32(stscEntries.length), ...stsc), sizeBox, co);
  const keys = t.samples.flatMap((s, i) => (s.key === false ? [] : [i + 1]));
  const stssMode = t.stss ?? 'auto';
  if (stssMode === 'empty') stbl.push(fullBox('stss', 0, 0, u32(0)));
  else if (stssMode === 'auto' && keys.length < n) stbl.push(fullBox('stss', 0, 0, u32(keys.length, keys)));
  const parts: Buffer[] = [
    fullBox(
      'tkhd',
      0,
      3,
      u32(0, 0, t.id, 0, Math.round((total * movieTs) / t.timescale)),
      zeros(52),
      u32(0, 0),
    ),
  ];
  if (t.elst) {
    const v = t.elstVersion ?? 0;
    const entries = t.elst.map((e) =>
      v === 1
        ? Buffer.concat([u64(e.duration, e.mediaTime), i32(e.rate ?? 0x10000)])
        : Buffer.concat([u32(e.duration), i32(e.mediaTime, e.rate ?? 0x10000)]),
    );
    parts.push(box('edts', fullBox('elst', v, 0, u32(entries.length), ...entries)));
  }
  parts.push(
    box(
      'mdia',
      fullBox('mdhd', 0, 0, u32(0, 0, t.timescale, total), u16(0x55c4, 0)),
      fullBox('hdlr', 0, 0, u32(0), ascii(t.handler), u32(0, 0, 0), u8(0)),
      box('minf', box('stbl', ...stbl)),
    ),
  );
  return box('trak', ...parts);
}

export function buildMp4(spec: FileSpec): { file: Buffer; offsets: number[][] } {
  const movieTs = spec.movieTimescale ?? 1000;
  // mdat payload: chunks round-robin over tracks, 3 junk bytes between chunks.
  const payload: Buffer[] = [];
  let at = 0;
  const chunkOffsets: number[][] = spec.tracks.map(() => []);
  const sampleOffsets: number[][] = spec.tracks.map(() => []);
  const chunkLists = spec.tracks.map((t) => t.chunks ?? (t.samples.length > 0 ? [t.samples.length] : []));
  const next = spec.tracks.map(() => 0);
  const maxChunks = Math.max(0, ...chunkLists.map((c) => c.length));
  for (let c = 0; c < maxChunks; c++) {
    spec.tracks.forEach((t, n) => {
      const per = chunkLists[n]![c];
      if (per === undefined) return;
      chunkOffsets[n]!.push(at);
      for (let k = 0; k < per; k++) {
        const data = sampleBytes(t, next[n]!);
        sampleOffsets[n]!.push(at);
        payload.push(data);
        at += data.length;
        next[n]!++;
      }
      payload.push(Buffer.from([0xee, 0xee, 0xee]));
      at += 3;
    });
  }
  const mdat = box('mdat', payload);
  const ftyp = box('ftyp', ascii('isom'), u32(512), ascii('isomiso2avc1mp41'));
  const moovAt = (base: number): Buffer =>
    box(
      'moov',
      fullBox(
        'mvhd',
        0,
        0,
        u32(0, 0, movieTs, 0, 0x10000),
        u16(0x100),
        zeros(10),
        zeros(36),
        zeros(24),
        u32(99),
      ),
      ...spec.tracks.map((t, n) => trak(t, base, chunkOffsets[n]!, movieTs)),
      ...(spec.moovExtra ?? []),
    );
  let base: number;
  let file: Buffer;
  if (spec.moovFirst) {
    base = ftyp.length + moovAt(0).length + 8;
    file = Buffer.concat([ftyp, moovAt(base), mdat]);
  } else {
    base = ftyp.length + 8;
    file = Buffer.concat([ftyp, mdat, moovAt(base)]);
  }
  return { file, offsets: sampleOffsets.map((o) => o.map((x) => x + base)) };
}
