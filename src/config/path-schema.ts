/**
 * The options every path has (after mediamtx's path configuration): recording, the commands the server
 * runs for it (hooks), its reader cap, who may take it over, where readers go when nothing feeds it.
 * `pathDefaults` holds a value for each; an entry of `paths` (an exact name or a `~regex`) overrides any
 * of them for the paths it names. Apart from config.ts so that path-config.ts (the one lookup) and the
 * schema share one list of options.
 */
import { z } from 'zod';
import { isParseError } from '../base/errors.js';
import { parseRange } from '../rtsp/range.js';

/** The default file template of recordings (catalog.ts describes the layout; `.mp4` is appended). */
export const DEFAULT_RECORD_PATH = './recordings/%path/%Y-%m-%d_%H-%M-%S-%f';

/** `%path` and at least one date/time field, or segments of one path would overwrite each other. */
const recordPathTemplate = z
  .string()
  .min(1)
  .refine((t) => t.includes('%path'), 'the template must contain %path')
  .refine((t) => /%[YmdHMSf]/.test(t), 'the template must contain date/time fields (%Y %m %d %H %M %S %f)');

/** Recording options, as defaults for every path (`pathDefaults`) and per path or pattern. */
export const recordOptions = {
  /** Record the path's stream while it is live (src/recorder). */
  record: z.boolean(),
  /** File template: %path, %Y %m %d %H %M %S (UTC) and %f (microseconds); `.mp4` is appended. */
  recordPath: recordPathTemplate,
  /** Container of the files; fMP4 only for now. */
  recordFormat: z.enum(['fmp4']),
  /** Seconds after which a new file starts (at the next keyframe). */
  recordSegmentDuration: z
    .number()
    .min(1)
    .max(24 * 3600),
  /** Seconds of media per part (each part is written whole: what a crash may lose). */
  recordPartDuration: z.number().min(0.1).max(60),
  /** Seconds after which a finished segment is deleted; 0 keeps them. */
  recordDeleteAfter: z.number().min(0),
  /** Bytes of free disk space to keep: the path's oldest segments are deleted below it; 0: no check. */
  recordMinFreeBytes: z.number().int().min(0),
  /** Bytes of parts waiting to be written, per path: past it a part is dropped (and counted). */
  recordMaxQueueBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(1024 * 1024 * 1024),
};

/** A command line, split into words without a shell (src/hooks/command-line.ts); '' runs nothing. */
const command = z.string().max(4096);

/** The other path options: hooks and the rules of readers and publishers. */
export const pathRuleOptions = {
  /** Readers of the path at once (453 beyond); 0: only the server-wide maxReadersPerPath. */
  maxReaders: z.number().int().min(0),
  /** A new publisher of the path ends the session of the one publishing (else 403 for the newcomer). */
  overridePublisher: z.boolean(),
  /** Where a DESCRIBE of the path goes (302) when nothing feeds it: `/other/path` or an rtsp:// URL. */
  fallback: z
    .string()
    .min(1)
    .refine((s) => s.startsWith('/') || /^rtsps?:\/\/[^\s]+$/i.test(s), 'expected "/path" or an rtsp:// URL')
    .nullable(),
  /** Run when the server starts (exact path names only), ended when it stops. */
  runOnInit: command,
  runOnInitRestart: z.boolean(),
  /** Run at the first reader of a path nobody feeds; it must publish to the path (RTSP ANNOUNCE + RECORD). */
  runOnDemand: command,
  runOnDemandRestart: z.boolean(),
  /** Seconds the first reader waits for the command's RECORD. */
  runOnDemandStartTimeout: z.number().min(0.5).max(300),
  /** Seconds without readers after which the command is ended. */
  runOnDemandCloseAfter: z.number().min(0.1).max(86400),
  /** Run while the path is ready (a publisher's RECORD, a source started); ended when it is not. */
  runOnReady: command,
  runOnReadyRestart: z.boolean(),
  /** Run once when the path stops being ready. */
  runOnNotReady: command,
  /** Run while a reader plays the path; ended when it stops. */
  runOnRead: command,
  runOnReadRestart: z.boolean(),
  /** Run once when a reader stops. */
  runOnUnread: command,
  /** Run once when the recorder closes a segment of the path (RTSPKIT_SEGMENT_PATH names its file). */
  runOnRecordSegmentComplete: command,
};

/** Default values of every path option (`pathDefaults`). */
export const pathDefaultsSchema = z
  .object({
    record: recordOptions.record.default(false),
    recordPath: recordOptions.recordPath.default(DEFAULT_RECORD_PATH),
    recordFormat: recordOptions.recordFormat.default('fmp4'),
    recordSegmentDuration: recordOptions.recordSegmentDuration.default(3600),
    recordPartDuration: recordOptions.recordPartDuration.default(1),
    recordDeleteAfter: recordOptions.recordDeleteAfter.default(86400),
    recordMinFreeBytes: recordOptions.recordMinFreeBytes.default(0),
    recordMaxQueueBytes: recordOptions.recordMaxQueueBytes.default(16 * 1024 * 1024),
    maxReaders: pathRuleOptions.maxReaders.default(0),
    overridePublisher: pathRuleOptions.overridePublisher.default(false),
    fallback: pathRuleOptions.fallback.default(null),
    runOnInit: pathRuleOptions.runOnInit.default(''),
    runOnInitRestart: pathRuleOptions.runOnInitRestart.default(false),
    runOnDemand: pathRuleOptions.runOnDemand.default(''),
    runOnDemandRestart: pathRuleOptions.runOnDemandRestart.default(false),
    runOnDemandStartTimeout: pathRuleOptions.runOnDemandStartTimeout.default(10),
    runOnDemandCloseAfter: pathRuleOptions.runOnDemandCloseAfter.default(10),
    runOnReady: pathRuleOptions.runOnReady.default(''),
    runOnReadyRestart: pathRuleOptions.runOnReadyRestart.default(false),
    runOnNotReady: pathRuleOptions.runOnNotReady.default(''),
    runOnRead: pathRuleOptions.runOnRead.default(''),
    runOnReadRestart: pathRuleOptions.runOnReadRestart.default(false),
    runOnUnread: pathRuleOptions.runOnUnread.default(''),
    runOnRecordSegmentComplete: pathRuleOptions.runOnRecordSegmentComplete.default(''),
  })
  .strict();

/** Every option of a path, with its value (pathDefaults under the path's entries). */
export type PathSettings = z.infer<typeof pathDefaultsSchema>;

/** The recording options of a path (what `recordPaths` entries may set). */
export type RecordSettings = Pick<PathSettings, keyof typeof recordOptions>;

export const recordOverridesSchema = z
  .object({
    record: recordOptions.record.optional(),
    recordPath: recordOptions.recordPath.optional(),
    recordFormat: recordOptions.recordFormat.optional(),
    recordSegmentDuration: recordOptions.recordSegmentDuration.optional(),
    recordPartDuration: recordOptions.recordPartDuration.optional(),
    recordDeleteAfter: recordOptions.recordDeleteAfter.optional(),
    recordMinFreeBytes: recordOptions.recordMinFreeBytes.optional(),
    recordMaxQueueBytes: recordOptions.recordMaxQueueBytes.optional(),
  })
  .strict();

/** An exact path name: segments of letters, digits and `_ . ~ -`, none of them `.` or `..`. */
export const PATH_NAME_RE = /^(?!\.\.?(\/|$))[\w.~-]+(\/(?!\.\.?(\/|$))[\w.~-]+)*$/;

/** Why `key` cannot be a key of `paths`: an exact name, or `~` and a regex tested against the whole name. */
function pathKeyProblem(key: string): string | undefined {
  if (!key.startsWith('~'))
    return PATH_NAME_RE.test(key)
      ? undefined
      : 'expected a path like "cam1" or "site/cam1", or a regex like "~^cam(\\d+)$"';
  try {
    new RegExp(key.slice(1), 'u');
    return undefined;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    return `invalid path regex: ${err.message}`;
  }
}

/** `sourceRange` checked by the RTSP Range parser; its ParseError message becomes the issue. */
function checkRange(value: string, ctx: z.RefinementCtx): void {
  try {
    parseRange(value);
  } catch (err) {
    if (!isParseError(err)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
}

/** Schemes a path's `source` may pull from (sources/rtsp-pull.ts); any other URL is refused. */
export const PULL_URL_SCHEMES = ['rtsp', 'rtsps', 'rtsp+http'] as const;

/** Whether a path's `source` is a URL to pull rather than a file. */
export function isPullSource(source: string): boolean {
  return /^(rtsps?|rtsp\+http):\/\//i.test(source);
}

/**
 * The options of a path pulled from another RTSP server (`source: rtsp://...`), after mediamtx's
 * names; ignored for a file. Kept together: the pull's part of a path.
 */
const pullOptions = {
  /** How media comes from the upstream: auto (UDP, falling back to TCP), udp, tcp, multicast (the group the upstream names), http (the tunnel). Default auto. */
  sourceTransport: z.enum(['auto', 'udp', 'tcp', 'multicast', 'http']).optional(),
  /** UDP: take media from any port of the upstream's address (cameras sending from other ports than server_port). Default false. */
  sourceAnyPortEnable: z.boolean().optional(),
  /** rtsps: the upstream certificate's SHA-256 fingerprint (64 hex digits, colons allowed), pinned. */
  sourceFingerprint: z
    .string()
    .refine(
      (f) => /^[0-9a-f]{64}$/i.test(f.replace(/:/g, '')),
      'expected a SHA-256 fingerprint (64 hex digits)',
    )
    .optional(),
  /** Start the pull at the first reader, and stop it after sourceOnDemandCloseAfter without readers. Default false. */
  sourceOnDemand: z.boolean().optional(),
  /**
   * Each reader gets its own upstream session, its PLAY (Range, Scale, Speed) and PAUSE forwarded: for
   * an upstream that is a recording or a file on demand (its SDP has `a=range:npt=0-N`), so that
   * seeking works through this server. Nothing is pulled without readers. Default false (one shared
   * session, live).
   */
  sourcePerReader: z.boolean().optional(),
  /** Seconds a reader's DESCRIBE waits for an on-demand pull to start. Default 10. */
  sourceOnDemandStartTimeout: z.number().min(0.1).max(600).optional(),
  /** Seconds without readers after which an on-demand pull stops. Default 10. */
  sourceOnDemandCloseAfter: z.number().min(0.1).max(86400).optional(),
  /** The Range PLAY asks of the upstream (RFC 2326 §12.29), e.g. "npt=30-" or "clock=20250101T000000Z-". */
  sourceRange: z.string().min(1).superRefine(checkRange).optional(),
  /** The Scale PLAY asks of the upstream (§12.34), for recorded sources. */
  sourceScale: z
    .number()
    .refine((n) => n !== 0, 'Scale 0 is not a speed')
    .optional(),
};

/** Defaults of the pull options (kept out of the schema: a file path's entry stays `{ source, loop }`). */
export const PULL_DEFAULTS = {
  sourceTransport: 'auto',
  sourceAnyPortEnable: false,
  sourceOnDemand: false,
  sourcePerReader: false,
  sourceOnDemandStartTimeout: 10,
  sourceOnDemandCloseAfter: 10,
} as const;

/** An entry of `paths`: a source (an MP4 file; `$G1`.. from a regex's captures) and any path option. */
export const pathEntrySchema = z
  .object({
    /**
     * An MP4 file played in a loop as this path's live stream (a "camera from a file"), or an
     * rtsp://, rtsps:// or rtsp+http:// URL to pull (credentials allowed; never shown).
     */
    source: z
      .string()
      .min(1)
      .refine(
        (s) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(s) || isPullSource(s),
        'only rtsp://, rtsps:// and rtsp+http:// URLs can be pulled: give one of those, the path of an MP4 file, or have the camera publish to rtsp://<this server>/<path>',
      )
      .optional(),
    loop: z.boolean().default(true),
    ...pullOptions,
    ...recordOverridesSchema.shape,
    maxReaders: pathRuleOptions.maxReaders.optional(),
    overridePublisher: pathRuleOptions.overridePublisher.optional(),
    fallback: pathRuleOptions.fallback.optional(),
    runOnInit: pathRuleOptions.runOnInit.optional(),
    runOnInitRestart: pathRuleOptions.runOnInitRestart.optional(),
    runOnDemand: pathRuleOptions.runOnDemand.optional(),
    runOnDemandRestart: pathRuleOptions.runOnDemandRestart.optional(),
    runOnDemandStartTimeout: pathRuleOptions.runOnDemandStartTimeout.optional(),
    runOnDemandCloseAfter: pathRuleOptions.runOnDemandCloseAfter.optional(),
    runOnReady: pathRuleOptions.runOnReady.optional(),
    runOnReadyRestart: pathRuleOptions.runOnReadyRestart.optional(),
    runOnNotReady: pathRuleOptions.runOnNotReady.optional(),
    runOnRead: pathRuleOptions.runOnRead.optional(),
    runOnReadRestart: pathRuleOptions.runOnReadRestart.optional(),
    runOnUnread: pathRuleOptions.runOnUnread.optional(),
    runOnRecordSegmentComplete: pathRuleOptions.runOnRecordSegmentComplete.optional(),
  })
  .strict();

export type PathEntry = z.infer<typeof pathEntrySchema>;

/** `paths`: entries by exact name or `~regex` (checked here, so the message says what a key must be). */
export const pathsSchema = z.record(z.string(), pathEntrySchema).superRefine((paths, ctx) => {
  for (const key of Object.keys(paths)) {
    const problem = pathKeyProblem(key);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: problem });
  }
});

/** Options of the server's commands that are not per path. */
export const hookServerOptions = {
  /** Run when an RTSP connection opens; ended when it closes. */
  runOnConnect: command.default(''),
  runOnConnectRestart: z.boolean().default(false),
  /** Run once when an RTSP connection closes. */
  runOnDisconnect: command.default(''),
  /** Run every command through `/bin/sh -c` (pipes, redirections) rather than split into words. */
  hooksUseShell: z.boolean().default(false),
  /** Commands running at once (runOn*): past it a command is not started, with a log line and a count. */
  hooksMaxProcesses: z.number().int().min(1).max(4096).default(64),
  /**
   * Folder of the running commands' pid files, read at start to end what a killed server left
   * running; null: `<tmp>/rtspkit-hooks-<RTSP port>`.
   */
  hooksPidDir: z.string().min(1).nullable().default(null),
};
