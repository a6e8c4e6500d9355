/**
 * Client commands of the `rtspkit` command line: `probe` (what a URL offers), `play` (record a stream to
 * a file) and `publish` (push an MP4 file in real time with ANNOUNCE/RECORD).
 *
 * Exit codes, shared by the commands: 0 success; 1 other failure; 2 bad URL, arguments or input file;
 * 3 the server cannot be reached (refused, unreachable, no answer, connection lost); 4 unknown path (404);
 * 5 authentication failed (401, wrong or missing user name/password); 6 refused by the server (403, e.g. a
 * path already being published). Failures print one line `rtspkit: <message>` on stderr.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { RtspClient } from '../client/client.js';
import type { ClientTransport } from '../client/media.js';
import { isParseError, isSystemError } from '../base/errors.js';
import { FilePublish } from '../client/file-publish.js';
import { RtspClientError } from '../client/errors.js';
import { readMpegAudioFormats } from '../client/probe.js';
import { formatTrackSummary, summarizeTrack } from '../client/tracks.js';
import { parseRtspUrl, stripCredentials } from '../rtsp/url.js';
import { planRecording, RECORDING_EXTENSIONS, RecordingFile, rtpInfoTimes } from '../sinks/index.js';
import {
  replayPlayOptions,
  replayProblem,
  replayUrl,
  scaleArg,
  timeArg,
  type ReplayArgs,
} from './replay-args.js';

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

/** `-t`; `multicast` (the server's group, RFC 2326 §12.39) for the commands that read (probe, play). */
function transportOption(reads: boolean): Option {
  const multicast = reads ? ', multicast (the group the server names)' : '';
  return new Option(
    '-t, --transport <transport>',
    `RTP transport: udp, tcp (interleaved)${multicast}, http (RTSP-over-HTTP tunnel, as rtsph:// URLs) or ws (RTSP over WebSocket, as ws:// URLs)`,
  ).choices(reads ? ['udp', 'tcp', 'multicast', 'http', 'ws'] : ['udp', 'tcp', 'http', 'ws']);
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
  } catch (e) {
    if (!isParseError(e)) throw e;
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
    if (transport === undefined) await readMpegAudioFormats(client, tracks);
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

interface PlayOptions extends ReplayArgs {
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

/** Why a recording ended, for its closing line. */
const STOP_REASONS: Readonly<Record<string, string>> = {
  duration: '--duration reached',
  signal: 'interrupted',
  end: 'end of stream',
  closed: 'the server closed the connection',
  error: 'stopped by an error',
};

/** Why `file` cannot be written, checked before connecting; undefined when it can. */
function outputProblem(file: string): string | undefined {
  const dir = dirname(file);
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a folder`;
  } catch (e) {
    if (!isSystemError(e)) throw e;
    return `the folder ${dir} does not exist`;
  }
  try {
    if (statSync(file).isDirectory()) return 'it is a folder';
    accessSync(file, constants.W_OK);
  } catch (e) {
    if (!isSystemError(e)) throw e;
    if (e.code !== 'ENOENT') return 'no permission to write it';
    try {
      accessSync(dir, constants.W_OK);
    } catch (e2) {
      if (!isSystemError(e2)) throw e2;
      return `no permission to write in ${dir}`;
    }
  }
  return undefined;
}

async function play(url: string, opts: PlayOptions): Promise<void> {
  const ext = extname(opts.output).toLowerCase();
  if (!RECORDING_EXTENSIONS.includes(ext)) {
    fail(
      new RtspClientError(
        'BAD_URL',
        `cannot write ${ext || 'files without extension'}: supported outputs are ${RECORDING_EXTENSIONS.join(', ')}`,
      ),
    );
    return;
  }
  const mismatch = replayProblem(opts);
  if (mismatch !== undefined) {
    fail(new Error(mismatch), ExitCode.BadInput);
    return;
  }
  url = replayUrl(url, opts);
  const unwritable = outputProblem(opts.output);
  if (unwritable !== undefined) {
    fail(new Error(`cannot write ${opts.output}: ${unwritable}`), ExitCode.BadInput);
    return;
  }
  const choice = transportChoice(opts.transport);
  const client = new RtspClient(url, {
    timeoutMs: (opts.timeout ?? 10) * 1000,
    rejectUnauthorized: opts.insecure !== true,
    ...choice.carrier,
  });
  let stopReason = '';
  let output: RecordingFile | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let stopTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  const tty = process.stderr.isTTY;

  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    stopReason = reason;
    clearInterval(statusTimer);
    clearTimeout(stopTimer);
    if (tty) process.stderr.write('\n');
    try {
      client.flush();
    } catch (e) {
      // The last access units could not be written (malformed, disk full): the file keeps what it has.
      if (!isParseError(e) && !isSystemError(e)) throw e;
    }
    if (reason !== 'closed') {
      try {
        await Promise.race([client.teardown(), new Promise((r) => setTimeout(r, 2000).unref())]);
      } catch (e) {
        // the server may be gone already
        if (!(e instanceof RtspClientError)) throw e;
      }
    }
    client.close();
    try {
      output?.close();
    } catch (e) {
      fail(e);
    }
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
    const recording = planRecording(ext, d.tracks);
    const chosen = recording.chosen;
    const writer = RecordingFile.open(opts.output, recording);
    output = writer;
    client.on('accessUnit', (t, au) => {
      if (!stopping) writer.push(t, au, performance.now());
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
    // Units that come with the PLAY reply wait for its RTP-Info, which places the tracks by their clocks.
    writer.expectPlayStart();
    const played = await client.play(replayPlayOptions(opts));
    writer.setPlayStart(rtpInfoTimes(played.headers.get('RTP-Info'), chosen));
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
    const lost = client.stats().reduce((n, x) => n + x.packetsLost, 0);
    process.stderr.write(
      `rtspkit: ${opts.output}: ${formatClock(performance.now() - startMs)} recorded (${STOP_REASONS[stopReason] ?? stopReason}), ` +
        `${(writer.bytesWritten / 1e6).toFixed(1)} MB, ${writer.unitsWritten} access units of ` +
        `${chosen.map((t) => summarizeTrack(t).codec).join(' + ')}, ${lost} packets lost\n`,
    );
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

/** Streams an MP4 file to `url` in real time (client/file-publish.ts), with a status line on a terminal. */
async function publish(file: string, url: string, opts: PublishOptions): Promise<void> {
  try {
    parseRtspUrl(url);
  } catch (e) {
    if (!isParseError(e)) throw e;
    fail(new RtspClientError('BAD_URL', `bad URL ${JSON.stringify(safeUrl(url))}: ${e.message}`));
    return;
  }
  let pub: FilePublish;
  try {
    pub = await FilePublish.open(file, { loop: opts.loop === true });
  } catch (e) {
    const code = ((e as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    fail(code === 'ENOENT' ? new Error(`cannot open ${file}: no such file`) : e, ExitCode.BadInput);
    return;
  }
  const choice = transportChoice(opts.transport);
  try {
    await pub.start(url, safeUrl(url), {
      transport: choice.transport ?? 'tcp',
      ...choice.carrier,
      timeoutMs: (opts.timeout ?? 10) * 1000,
      rejectUnauthorized: opts.insecure !== true,
    });
  } catch (e) {
    fail(e);
    return;
  }
  const tty = process.stderr.isTTY;
  const onSignal = (): void => {
    void pub.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let statusTimer: NodeJS.Timeout | undefined;
  if (tty) {
    const startMs = performance.now();
    let lastBytes = 0;
    let lastMs = startMs;
    statusTimer = setInterval(() => {
      const now = performance.now();
      const kbps = ((pub.bytes - lastBytes) * 8) / Math.max(1, now - lastMs);
      lastBytes = pub.bytes;
      lastMs = now;
      process.stderr.write(
        `\r${formatClock(now - startMs)}  ${kbps.toFixed(0).padStart(6)} kbit/s  sent ${pub.packets} packets ` +
          `(${pub.transport ?? '?'}) loops ${pub.loops} `,
      );
    }, 1000);
  }
  const end = await pub.ended;
  clearInterval(statusTimer);
  if (tty) process.stderr.write('\n');
  if (end.error !== undefined) fail(end.error);
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
    .addOption(transportOption(true))
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
    .addOption(transportOption(true).default('udp'))
    .option('--timeout <seconds>', 'connect and reply timeout (default 10)', secondsArg)
    .option('-k, --insecure', 'rtsps: accept any server certificate')
    .option(
      '--start <time>',
      'play recordings from this time (ISO 8601 with its zone): ONVIF replay',
      timeArg,
    )
    .option('--end <time>', 'with --start: up to this time (default: the end of the recordings)', timeArg)
    .option('--scale <n>', 'playback rate: 0.5, 2, 4, 8; negative plays backwards (keyframes)', scaleArg)
    .option('--no-rate-control', 'with --start: as fast as the connection goes (Rate-Control: no)')
    .addHelpText(
      'after',
      '\nExit codes as for probe. The file stays valid when interrupted.\n' +
        'Recordings: rtspkit play rtsp://host:8554/cam --start 2026-12-06T10:15:00Z --scale 4 -o out.mp4',
    )
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
    .addOption(transportOption(false).default('tcp'))
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
