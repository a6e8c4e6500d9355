/**
 * Client commands of the `rtspkit` command line: `probe` (what a URL offers), `play` (record a stream to
 * a file) and `publish` (push an MP4 file in real time with ANNOUNCE/RECORD).
 *
 * Exit codes, shared by the commands: 0 success; 1 other failure; 2 bad URL, arguments or input file;
 * 3 the server cannot be reached (refused, unreachable, no answer, connection lost); 4 unknown path (404);
 * 5 authentication failed (401, wrong or missing user name/password); 6 refused by the server (403, e.g. a
 * path already being published). Failures print one line `rtspkit: <message>` on stderr.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { extname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { buildAdtsHeader } from '../codec/aac.js';
import { H264_PARAMETER_SET_TYPES, h264NalType, isH264Vcl } from '../codec/h264.js';
import { H265_PARAMETER_SET_TYPES, h265NalType, isH265Vcl } from '../codec/h265.js';
import { joinAnnexB } from '../codec/nal.js';
import type { AccessUnit } from '../format/access-unit.js';
import { parseAacFmtp } from '../format/aac.js';
import { parseH264Fmtp } from '../format/h264.js';
import { parseH265Fmtp } from '../format/h265.js';
import { RtspClient, type ClientTransport } from '../client/client.js';
import { Publisher } from '../client/publisher.js';
import { Stream } from '../media/stream.js';
import { Mp4LoopSource } from '../sources/mp4-loop.js';
import { RtspClientError } from '../client/errors.js';
import { formatTrackSummary, summarizeTrack, type ClientTrack } from '../client/tracks.js';
import { parseRtspUrl, stripCredentials } from '../rtsp/url.js';
import { ParseError } from '../base/errors.js';
import { TsMuxer, type TsTrack } from '../container/mpegts/index.js';
import { Fmp4Muxer, fmp4TrackFor, type Fmp4Track } from '../container/fmp4/index.js';
import { TimelineAligner } from '../container/timeline.js';

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  BadInput: 2,
  Unreachable: 3,
  NotFound: 4,
  Unauthorized: 5,
  Refused: 6,
} as const;

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'TIMEOUT',
  'CLOSED',
]);

/** The exit code for an error of the client. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof RtspClientError)) return ExitCode.Failure;
  if (err.code === 'BAD_URL' || err.code === 'UNSUPPORTED') return ExitCode.BadInput;
  if (UNREACHABLE.has(err.code)) return ExitCode.Unreachable;
  if (err.code === 'RTSP_404') return ExitCode.NotFound;
  if (err.code === 'RTSP_401') return ExitCode.Unauthorized;
  if (err.code === 'RTSP_403') return ExitCode.Refused;
  return ExitCode.Failure;
}

const EXIT_CODES_HELP =
  '\nExit codes: 0 ok, 1 other failure, 2 bad URL, arguments or file, 3 server unreachable or connection lost,' +
  '\n4 unknown path, 5 wrong or missing password, 6 refused by the server (403, e.g. path busy).';

/** Node's codes for a server certificate that fails verification (node:tls, OpenSSL X509 errors). */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function fail(err: unknown, exitCode = exitCodeFor(err)): void {
  let message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  if (err instanceof RtspClientError && CERTIFICATE_CODES.has(err.code))
    message += ' (--insecure accepts it)';
  process.stderr.write(`rtspkit: ${message}\n`);
  process.exitCode = exitCode;
}

function secondsArg(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

/**
 * `-t http`: RTSP over HTTP (requests in a POST, replies and media on a GET); `-t ws`: RTSP over a
 * WebSocket (rtsp.onvif.org). Media is interleaved in both.
 */
type CliTransport = ClientTransport | 'http' | 'ws';

function transportOption(): Option {
  return new Option(
    '-t, --transport <transport>',
    'RTP transport: udp, tcp (interleaved), http (RTSP-over-HTTP tunnel, as rtsph:// URLs) or ws (RTSP over WebSocket, as ws:// URLs)',
  ).choices(['udp', 'tcp', 'http', 'ws']);
}

interface TransportChoice {
  /** Client options for the carrier. */
  carrier: { httpTunnel?: true; webSocket?: true };
  transport?: ClientTransport;
}

/** Client options and SETUP transport for a --transport value. */
function transportChoice(t: CliTransport | undefined): TransportChoice {
  if (t === 'http') return { carrier: { httpTunnel: true }, transport: 'tcp' };
  if (t === 'ws') return { carrier: { webSocket: true }, transport: 'tcp' };
  return t === undefined ? { carrier: {} } : { carrier: {}, transport: t };
}

function safeUrl(url: string): string {
  try {
    return stripCredentials(url);
  } catch {
    return url;
  }
}

// --- probe ---

interface ProbeOptions {
  transport?: CliTransport;
  json?: boolean;
  timeout?: number;
  insecure?: boolean;
}

async function probe(url: string, opts: ProbeOptions): Promise<void> {
  const choice = transportChoice(opts.transport);
  const client = new RtspClient(url, {
    timeoutMs: (opts.timeout ?? 10) * 1000,
    rejectUnauthorized: opts.insecure !== true,
    udpFallback: false,
    ...choice.carrier,
  });
  client.on('error', () => undefined); // faults also reject the pending request, reported below
  try {
    await client.connect();
    try {
      await client.options();
    } catch (e) {
      // A camera that refuses OPTIONS may still DESCRIBE; connection faults end the probe.
      if (!(e instanceof RtspClientError) || !e.code.startsWith('RTSP_')) throw e;
    }
    const d = await client.describe();
    let transport: string | undefined;
    if (choice.transport !== undefined) {
      await client.setup({ transport: choice.transport });
      transport = client.httpTunnel ? 'http' : client.webSocket ? 'ws' : client.transport;
      await client.teardown();
    }
    const tracks = d.tracks.map(summarizeTrack);
    if (opts.json === true) {
      const out: Record<string, unknown> = {
        url: safeUrl(client.url),
        server: client.serverName ?? null,
        methods: client.publicMethods ?? [],
        sessionName: d.sdp.sessionName,
        tracks,
      };
      if (transport !== undefined) out.transport = transport;
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      const lines = [`URL:     ${safeUrl(client.url)}`];
      if (client.serverName !== undefined) lines.push(`Server:  ${client.serverName}`);
      lines.push(`Methods: ${(client.publicMethods ?? []).join(', ') || '(not announced)'}`);
      if (transport !== undefined) lines.push(`Transport: ${transport} accepted`);
      for (const t of tracks) lines.push(`Track ${t.index}: ${formatTrackSummary(t)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  } catch (e) {
    fail(e);
  } finally {
    client.close();
  }
}

// --- play ---

type OutputKind = 'h264' | 'h265' | 'aac';

const OUTPUT_KINDS: Readonly<Record<string, OutputKind>> = {
  '.h264': 'h264',
  '.264': 'h264',
  '.h265': 'h265',
  '.265': 'h265',
  '.hevc': 'h265',
  '.aac': 'aac',
};

/** Containers that take every track: MPEG-TS and fragmented MP4. */
const CONTAINER_EXTENSIONS = ['.ts', '.mp4', '.m4v'];
const FMP4_EXTENSIONS = ['.mp4', '.m4v'];

const ENCODING_OF: Readonly<Record<OutputKind, string>> = {
  h264: 'H264',
  h265: 'H265',
  aac: 'MPEG4-GENERIC',
};

/** Writes access units of one track as an elementary stream: Annex-B H.264/H.265 or ADTS AAC. */
export class ElementaryStreamWriter {
  #started = false;
  readonly #params = new Map<number, Buffer>();
  readonly #paramTypes: readonly number[];
  readonly #adts: { objectType: number; sampleRate: number; channelConfiguration: number } | undefined;
  bytesWritten = 0;
  unitsWritten = 0;

  constructor(
    readonly kind: OutputKind,
    track: ClientTrack,
    private readonly write: (b: Buffer) => void,
  ) {
    if (kind === 'h264') {
      this.#paramTypes = H264_PARAMETER_SET_TYPES;
      const f = parseH264Fmtp(track.fmtp);
      this.#note([...f.sps, ...f.pps]);
    } else if (kind === 'h265') {
      this.#paramTypes = H265_PARAMETER_SET_TYPES;
      const f = parseH265Fmtp(track.fmtp);
      this.#note([...f.vps, ...f.sps, ...f.pps]);
    } else {
      this.#paramTypes = [];
      const cfg = parseAacFmtp(track.fmtp).audioConfig;
      if (cfg === undefined) throw new Error('the AAC track has no usable config in its SDP');
      this.#adts = {
        objectType: cfg.objectType,
        sampleRate: cfg.sampleRate,
        channelConfiguration: cfg.channelConfiguration,
      };
    }
  }

  #type(nal: Buffer): number {
    return this.kind === 'h264' ? h264NalType(nal) : h265NalType(nal);
  }

  #note(nalus: readonly Buffer[]): void {
    for (const n of nalus) {
      const t = this.#type(n);
      if (this.#paramTypes.includes(t)) this.#params.set(t, n);
    }
  }

  push(au: AccessUnit): void {
    if (this.kind === 'aac') {
      const payload = au.payload;
      if (payload === undefined || this.#adts === undefined) return;
      this.#emit(Buffer.concat([buildAdtsHeader(this.#adts, payload.length), payload]));
      return;
    }
    const nalus = au.nalus;
    if (nalus === undefined) return;
    this.#note(nalus);
    // A decoder needs a keyframe first; start there.
    if (!this.#started && !au.keyframe) return;
    this.#started = true;
    let out: readonly Buffer[] = nalus;
    if (au.keyframe) {
      // Parameter sets may come only in the SDP: put them in front of every keyframe that lacks them.
      const present = new Set(nalus.map((n) => this.#type(n)));
      const missing = this.#paramTypes.filter((t) => !present.has(t)).map((t) => this.#params.get(t));
      const isVcl = this.kind === 'h264' ? isH264Vcl : isH265Vcl;
      const sets = missing.filter((b): b is Buffer => b !== undefined);
      if (sets.length > 0) {
        let at = nalus.findIndex((n) => isVcl(this.#type(n)));
        if (at < 0) at = nalus.length;
        out = [...nalus.slice(0, at), ...sets, ...nalus.slice(at)];
      }
    }
    this.#emit(joinAnnexB(out));
  }

  #emit(b: Buffer): void {
    this.write(b);
    this.bytesWritten += b.length;
    this.unitsWritten++;
  }
}

/** The codec of a track as the MPEG-TS writer knows it, or undefined when it cannot be written there. */
export function tsTrackFor(track: ClientTrack): TsTrack | undefined {
  try {
    switch (track.encodingName.toUpperCase()) {
      case 'H264': {
        const f = parseH264Fmtp(track.fmtp);
        return { codec: 'h264', parameterSets: [...f.sps, ...f.pps] };
      }
      case 'H265': {
        const f = parseH265Fmtp(track.fmtp);
        return { codec: 'h265', parameterSets: [...f.vps, ...f.sps, ...f.pps] };
      }
      case 'MPEG4-GENERIC': {
        const cfg = parseAacFmtp(track.fmtp).audioConfig;
        if (cfg === undefined || cfg.objectType < 1 || cfg.objectType > 4) return undefined;
        return {
          codec: 'aac',
          aac: {
            objectType: cfg.objectType,
            sampleRate: cfg.sampleRate,
            channelConfiguration: cfg.channelConfiguration,
          },
        };
      }
      case 'OPUS': {
        const stereo = track.fmtp['sprop-stereo'] ?? track.fmtp.stereo;
        return { codec: 'opus', channels: stereo === '0' ? 1 : 2 };
      }
      default:
        return undefined;
    }
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    throw e;
  }
}

/**
 * Writes the access units of several tracks into one container file, on one timeline (TimelineAligner),
 * each write a whole unit of the container so that a file cut at any moment stays readable.
 */
abstract class ContainerRecorder {
  readonly #indexOf = new Map<number, number>();
  readonly #timeline = new TimelineAligner();
  bytesWritten = 0;

  constructor(
    readonly tracks: readonly ClientTrack[],
    private readonly write: (b: Buffer) => void,
  ) {
    tracks.forEach((t, i) => this.#indexOf.set(t.index, i));
  }

  /** Access units in the file so far. */
  abstract get unitsWritten(): number;

  /** The bytes ready to write after `au` of muxer track `i`, if any. */
  protected abstract muxAccessUnit(i: number, au: AccessUnit): Buffer | undefined;

  /** What the muxer still holds, at the end. */
  protected flushMuxer(): Buffer | undefined {
    return undefined;
  }

  push(track: ClientTrack, au: AccessUnit, arrivalMs: number): void {
    const i = this.#indexOf.get(track.index);
    if (i === undefined) return;
    this.#emit(this.muxAccessUnit(i, this.#timeline.map(i, au, arrivalMs)));
  }

  finish(): void {
    this.#emit(this.flushMuxer());
  }

  #emit(bytes: Buffer | undefined): void {
    if (bytes === undefined || bytes.length === 0) return;
    this.write(bytes);
    this.bytesWritten += bytes.length;
  }
}

/** MPEG-TS: every write is a whole number of 188-byte packets. */
export class TsRecorder extends ContainerRecorder {
  readonly #mux: TsMuxer;
  #units = 0;

  constructor(tracks: readonly ClientTrack[], configs: readonly TsTrack[], write: (b: Buffer) => void) {
    super(tracks, write);
    this.#mux = new TsMuxer(configs);
  }

  get unitsWritten(): number {
    return this.#units;
  }

  protected muxAccessUnit(i: number, au: AccessUnit): Buffer | undefined {
    const bytes = this.#mux.writeAccessUnit(i, au);
    if (bytes.length > 0) this.#units++;
    return bytes;
  }
}

/**
 * Fragmented MP4: the init segment and each moof+mdat fragment go out in one write each, so a process
 * killed at any moment leaves a file valid up to its last whole fragment; `finish` writes the fragment
 * in progress (Ctrl-C, --duration, end of stream).
 */
export class Fmp4Recorder extends ContainerRecorder {
  readonly #mux: Fmp4Muxer;

  constructor(tracks: readonly ClientTrack[], configs: readonly Fmp4Track[], write: (b: Buffer) => void) {
    super(tracks, write);
    this.#mux = new Fmp4Muxer(configs);
  }

  get unitsWritten(): number {
    return this.#mux.stats.samples;
  }

  protected muxAccessUnit(i: number, au: AccessUnit): Buffer | undefined {
    return this.#mux.push(i, au);
  }

  protected override flushMuxer(): Buffer | undefined {
    return this.#mux.flush();
  }
}

/** The tracks a container can carry, with their configurations; NO_TRACK when there is none. */
function containerTracks<C>(
  tracks: readonly ClientTrack[],
  trackFor: (t: ClientTrack) => C | undefined,
  container: string,
): { chosen: ClientTrack[]; configs: C[] } {
  const chosen: ClientTrack[] = [];
  const configs: C[] = [];
  for (const t of tracks) {
    const c = trackFor(t);
    if (c === undefined) continue;
    chosen.push(t);
    configs.push(c);
  }
  if (chosen.length === 0) {
    const have = tracks.map((t) => summarizeTrack(t).codec).join(', ') || 'none';
    throw new RtspClientError(
      'NO_TRACK',
      `no track ${container} can carry (h264, hevc, aac, opus; the stream has: ${have})`,
    );
  }
  return { chosen, configs };
}

/** Writes all of `b` at the end of the file (one write call for a regular file). */
function writeAll(fd: number, b: Buffer): void {
  let at = 0;
  while (at < b.length) at += writeSync(fd, b, at, b.length - at);
}

interface PlayOptions {
  output: string;
  duration?: number;
  transport?: CliTransport;
  timeout?: number;
  insecure?: boolean;
}

/** How long `play` still listens after the server's RTCP BYE on every track. */
const END_GRACE_MS = 500;

function formatClock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const mm = String(Math.floor(s / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${mm}:${ss}`;
}

async function play(url: string, opts: PlayOptions): Promise<void> {
  const ext = extname(opts.output).toLowerCase();
  const kind = OUTPUT_KINDS[ext];
  const container = CONTAINER_EXTENSIONS.includes(ext);
  if (kind === undefined && !container) {
    fail(
      new RtspClientError(
        'BAD_URL',
        `cannot write ${ext || 'files without extension'}: supported outputs are ${[...CONTAINER_EXTENSIONS, ...Object.keys(OUTPUT_KINDS)].join(', ')}`,
      ),
    );
    return;
  }
  const choice = transportChoice(opts.transport);
  const client = new RtspClient(url, {
    timeoutMs: (opts.timeout ?? 10) * 1000,
    rejectUnauthorized: opts.insecure !== true,
    ...choice.carrier,
  });
  let fd: number | undefined;
  let finishOutput: (() => void) | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let stopTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const tty = process.stderr.isTTY;

  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearInterval(statusTimer);
    clearTimeout(stopTimer);
    if (tty) process.stderr.write('\n');
    try {
      client.flush();
    } catch {
      // nothing pending
    }
    if (reason !== 'closed') {
      try {
        await Promise.race([client.teardown(), new Promise((r) => setTimeout(r, 2000).unref())]);
      } catch {
        // the server may be gone already
      }
    }
    client.close();
    try {
      finishOutput?.();
    } catch (e) {
      fail(e);
    }
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    resolveDone();
  };

  try {
    await client.connect();
    try {
      await client.options();
    } catch (e) {
      if (!(e instanceof RtspClientError) || !e.code.startsWith('RTSP_')) throw e;
    }
    const d = await client.describe();
    let writer: { bytesWritten: number; unitsWritten: number };
    let chosen: ClientTrack[];
    let onUnit: (t: ClientTrack, au: AccessUnit) => void;
    if (kind === undefined) {
      let makeRecorder: (write: (b: Buffer) => void) => ContainerRecorder;
      if (FMP4_EXTENSIONS.includes(ext)) {
        const { chosen: tracks, configs } = containerTracks(d.tracks, fmp4TrackFor, 'MP4');
        makeRecorder = (write) => new Fmp4Recorder(tracks, configs, write);
        chosen = tracks;
      } else {
        const { chosen: tracks, configs } = containerTracks(d.tracks, tsTrackFor, 'MPEG-TS');
        makeRecorder = (write) => new TsRecorder(tracks, configs, write);
        chosen = tracks;
      }
      fd = openSync(opts.output, 'w');
      const out = fd;
      const rec = makeRecorder((b) => {
        writeAll(out, b);
      });
      writer = rec;
      finishOutput = () => {
        rec.finish();
      };
      onUnit = (t, au) => rec.push(t, au, performance.now());
    } else {
      const track = d.tracks.find((t) => t.encodingName.toUpperCase() === ENCODING_OF[kind]);
      if (track === undefined) {
        const have = d.tracks.map((t) => summarizeTrack(t).codec).join(', ') || 'none';
        throw new RtspClientError(
          'NO_TRACK',
          `no ${kind} track to write to ${ext} (the stream has: ${have})`,
        );
      }
      chosen = [track];
      fd = openSync(opts.output, 'w');
      const out = fd;
      const es = new ElementaryStreamWriter(kind, track, (b) => {
        writeSync(out, b);
      });
      writer = es;
      onUnit = (t, au) => {
        if (t.index === track.index) es.push(au);
      };
    }
    client.on('accessUnit', (t, au) => {
      if (!stopping) onUnit(t, au);
    });
    client.on('transportFallback', (reason) => {
      process.stderr.write(`rtspkit: ${reason}\n`);
    });
    client.on('error', (e) => {
      fail(e);
      void stop('error');
    });
    client.on('close', () => {
      void stop('closed');
    });
    // RTCP BYE on every track: the end of a file on demand, or of the publisher's stream. Over UDP the BYE
    // travels on its own socket and may overtake the last RTP datagrams, hence the wait.
    client.on('end', () => {
      setTimeout(() => void stop('end'), END_GRACE_MS).unref();
    });
    await client.setup({ transport: choice.transport ?? 'udp', tracks: chosen.map((t) => t.index) });
    await client.play();
    const startMs = performance.now();
    let lastBytes = 0;
    let lastMs = startMs;
    if (tty) {
      statusTimer = setInterval(() => {
        const now = performance.now();
        const all = client.stats();
        const bytes = all.reduce((n, x) => n + x.bytesReceived, 0);
        const lost = all.reduce((n, x) => n + x.packetsLost, 0);
        const kbps = ((bytes - lastBytes) * 8) / Math.max(1, now - lastMs);
        lastBytes = bytes;
        lastMs = now;
        process.stderr.write(
          `\r${formatClock(now - startMs)}  ${kbps.toFixed(0).padStart(6)} kbit/s  lost ${lost}  ` +
            `written ${(writer.bytesWritten / 1e6).toFixed(1)} MB (${writer.unitsWritten} units) `,
        );
      }, 1000);
    }
    if (opts.duration !== undefined) {
      stopTimer = setTimeout(() => void stop('duration'), opts.duration * 1000);
    }
    const onSignal = (): void => {
      void stop('signal');
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    await done;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (writer.unitsWritten === 0 && process.exitCode === undefined) {
      process.stderr.write('rtspkit: nothing was received\n');
      process.exitCode = ExitCode.Failure;
    }
  } catch (e) {
    fail(e);
    await stop('error');
  }
}

// --- publish ---

interface PublishOptions {
  loop?: boolean;
  transport?: CliTransport;
  timeout?: number;
  insecure?: boolean;
}

/**
 * Streams an MP4 file to `url` in real time: Mp4LoopSource paces the file's RTP packets into a Stream (the
 * source's only sink type), whose single reader forwards them to the Publisher. The Stream waits for the
 * first keyframe (the file starts with one) and drops nothing else while the connection keeps up.
 */
async function publish(file: string, url: string, opts: PublishOptions): Promise<void> {
  try {
    parseRtspUrl(url);
  } catch (e) {
    fail(new RtspClientError('BAD_URL', `bad URL ${JSON.stringify(safeUrl(url))}: ${(e as Error).message}`));
    return;
  }
  let source: Mp4LoopSource;
  try {
    source = await Mp4LoopSource.open({ file, loop: opts.loop === true });
  } catch (e) {
    fail(e, ExitCode.BadInput);
    return;
  }
  let publisher: Publisher;
  try {
    publisher = await Publisher.start(url, source.media.describeSdp(safeUrl(url)), {
      transport: transportChoice(opts.transport).transport ?? 'tcp',
      ...transportChoice(opts.transport).carrier,
      timeoutMs: (opts.timeout ?? 10) * 1000,
      rejectUnauthorized: opts.insecure !== true,
    });
  } catch (e) {
    await source.stop();
    fail(e);
    return;
  }
  const client = publisher.client;
  const tty = process.stderr.isTTY;
  let packets = 0;
  let bytes = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const state = { finishing: false };
  const stream = new Stream(source.media.tracks);
  let statusTimer: NodeJS.Timeout | undefined;

  const finish = async (reason: 'eof' | 'signal' | 'closed' | 'error', err?: unknown): Promise<void> => {
    if (state.finishing) return;
    state.finishing = true;
    clearInterval(statusTimer);
    if (tty) process.stderr.write('\n');
    await source.stop();
    stream.end(reason);
    if (err !== undefined) fail(err);
    if (reason === 'closed') {
      client.close();
    } else {
      await Promise.race([publisher.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
      client.close();
    }
    resolveDone();
  };

  stream.addReader({
    transport: 'udp',
    rtpChannels: [],
    tracks: source.media.tracks.map((_, i) => i),
    get backlogBytes() {
      return client.writableLength;
    },
    writeInterleaved: () => undefined,
    sendRtp: (track, packet) => {
      if (state.finishing) return;
      packets++;
      bytes += packet.length;
      publisher.sendRtp(track, packet);
    },
    sendRtcp: () => undefined,
    streamEnded: (reason) => {
      if (reason === 'end of file') void finish('eof');
      else if (reason.startsWith('file source error')) void finish('error', new Error(reason));
    },
  });
  client.on('error', (e) => void finish('error', e));
  client.on('close', () => {
    void finish('closed', new RtspClientError('CLOSED', 'the server closed the connection'));
  });
  const onSignal = (): void => {
    void finish('signal');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const startMs = performance.now();
  let lastBytes = 0;
  let lastMs = startMs;
  if (tty) {
    statusTimer = setInterval(() => {
      const now = performance.now();
      const kbps = ((bytes - lastBytes) * 8) / Math.max(1, now - lastMs);
      lastBytes = bytes;
      lastMs = now;
      process.stderr.write(
        `\r${formatClock(now - startMs)}  ${kbps.toFixed(0).padStart(6)} kbit/s  sent ${packets} packets ` +
          `(${client.transport ?? '?'}) loops ${source.loops} `,
      );
    }, 1000);
  }
  source.start(stream);
  await done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** Adds `probe`, `play` and `publish` to the program. */
export function registerClientCommands(program: Command): void {
  program
    .command('probe')
    .description(
      'show the tracks (codec, profile, size, frame rate, audio format) and methods of an RTSP URL',
    )
    .argument('<url>', 'rtsp://, rtsps:// or rtsph:// (HTTP tunnel) URL, with user:password@ when needed')
    .addOption(transportOption())
    .option('--json', 'print JSON')
    .option('--timeout <seconds>', 'connect and reply timeout (default 10)', secondsArg)
    .option('-k, --insecure', 'rtsps: accept any server certificate')
    .addHelpText(
      'after',
      EXIT_CODES_HELP + '\nWith --transport, the transport is also checked with SETUP (then TEARDOWN).',
    )
    .action(async (url: string, opts: ProbeOptions) => {
      await probe(url, opts);
    });

  program
    .command('play')
    .description(
      'record a stream to a file: .ts (MPEG-TS) or .mp4/.m4v (fragmented MP4, readable when cut), with every H.264/H.265/AAC/Opus track, or one elementary stream (.h264/.264, .h265/.265/.hevc, .aac)',
    )
    .argument('<url>', 'rtsp://, rtsps:// or rtsph:// (HTTP tunnel) URL')
    .requiredOption('-o, --output <file>', 'output file; its extension picks the track and format')
    .option(
      '-d, --duration <seconds>',
      'stop after this long (default: until Ctrl-C or the end of the stream, RTCP BYE)',
      secondsArg,
    )
    .addOption(transportOption().default('udp'))
    .option('--timeout <seconds>', 'connect and reply timeout (default 10)', secondsArg)
    .option('-k, --insecure', 'rtsps: accept any server certificate')
    .addHelpText('after', '\nExit codes as for probe. The file stays valid when interrupted.')
    .action(async (url: string, opts: PlayOptions) => {
      await play(url, opts);
    });

  program
    .command('publish')
    .description(
      'stream an MP4 file (H.264/H.265, AAC/Opus) to an RTSP server in real time (ANNOUNCE/RECORD)',
    )
    .argument('<file>', 'MP4 file')
    .argument('<url>', 'rtsp://, rtsps:// or rtsph:// URL to publish to, with user:password@ when needed')
    .option('--loop', 'play the file again and again (default: stop at its end)')
    .addOption(transportOption().default('tcp'))
    .option('--timeout <seconds>', 'connect and reply timeout (default 10)', secondsArg)
    .option('-k, --insecure', 'rtsps: accept any server certificate')
    .addHelpText(
      'after',
      `${EXIT_CODES_HELP}\nAt the end of the file (without --loop) or on Ctrl-C: TEARDOWN, exit 0.`,
    )
    .action(async (file: string, url: string, opts: PublishOptions) => {
      await publish(file, url, opts);
    });
}
