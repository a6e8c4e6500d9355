/**
 * The commands the server runs on its events (after mediamtx's runOn* hooks), from the path options
 * (config/path-config.ts) read at each event, so a config reload reaches the next command started:
 * - runOnInit: at start, for each path named exactly in `paths`; ended at close;
 * - runOnReady / runOnNotReady: while a path is ready (kept running), once when it stops;
 * - runOnRead / runOnUnread: while a reader plays (kept running), once when it stops;
 * - runOnConnect / runOnDisconnect: while an RTSP connection is open, once when it closes;
 * - runOnRecordSegmentComplete: once per closed recording segment;
 * - runOnDemand: src/hooks/on-demand.ts builds it with `demandCommand` (the path manager runs it).
 * "Kept running" commands are restarted after a crash when their `...Restart` option says so. Every
 * command is its own process group, ended with what it runs for and at `close` (hook-process.ts); pid
 * files let the next start end what a killed server left (pid-files.ts). `hooksMaxProcesses` bounds the
 * commands running at once; past it a command is not started, logged and counted.
 *
 * The variables each command gets (and that its words may name, `$RTSPKIT_PATH`): RTSPKIT_PATH,
 * RTSP_PORT, RTSPKIT_QUERY, RTSPKIT_READER_ID / RTSPKIT_READER_TYPE, RTSPKIT_SOURCE_ID /
 * RTSPKIT_SOURCE_TYPE (who feeds the path), RTSPKIT_CONN_ID / RTSPKIT_CONN_REMOTE, RTSPKIT_SEGMENT_PATH
 * and RTSPKIT_SEGMENT_DURATION (seconds),
 * and G1..G9, the captures of the path's regex. Never credentials: a URL's userinfo is not in any.
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { HookSettingsSource, PathHookSettings } from './settings.js';
import { commandArgv, CommandLineError } from './command-line.js';
import { DEFAULT_RESTART_BACKOFF, HookProcess, type RestartBackoff } from './hook-process.js';
import { PidFiles } from './pid-files.js';
import type { PathOwner } from '../paths/path.js';

export interface HooksDeps {
  clock: Clock;
  logger: Logger;
  /** The config in force (read at each event). */
  settings: HookSettingsSource;
  /** The RTSP port once listening. */
  rtspPort(): number;
  /** Folder of the pid files; undefined: none kept (tests of the runner alone). */
  pidDir: string | undefined;
  backoff?: RestartBackoff;
}

export interface HookCounters {
  started: number;
  exited: number;
  /** Not started: `hooksMaxProcesses` commands were running. */
  refusedAtLimit: number;
  /** Not started: the command line could not be split. */
  badCommandLines: number;
  /** Path names refused because a regex capture held characters outside the safe set. */
  unsafeCaptures: number;
  /** Process groups a previous run left, ended at start. */
  leftoversEnded: number;
}

/** Who feeds a path or reads it, for the variables. */
export interface PathParty {
  id: string;
  type: string;
}

/** The stand-in for a read whose path has no runOnRead: runOnUnread still runs at its end. */
const NO_PROCESS = Symbol('no runOnRead');

type PathOptionCommand = 'runOnInit' | 'runOnDemand' | 'runOnReady' | 'runOnRead';

export class Hooks {
  readonly counters: HookCounters = {
    started: 0,
    exited: 0,
    refusedAtLimit: 0,
    badCommandLines: 0,
    unsafeCaptures: 0,
    leftoversEnded: 0,
  };
  private readonly pidFiles: PidFiles | undefined;
  private running = 0;
  /** Every command not yet exited, ended at close. */
  private readonly live = new Set<HookProcess>();
  private readonly onInit = new Map<string, HookProcess>();
  private readonly onReady = new Map<string, HookProcess>();
  /** Reads that started, by session id: their runOnRead (or NO_PROCESS) and what runOnUnread needs. */
  private readonly reads = new Map<
    string,
    { process: HookProcess | typeof NO_PROCESS; path: string; query: string; reader: PathParty }
  >();
  private readonly onConnect = new Map<string, HookProcess>();
  private closed = false;

  constructor(private readonly deps: HooksDeps) {
    this.pidFiles = deps.pidDir !== undefined ? new PidFiles(deps.pidDir, deps.logger) : undefined;
  }

  /** Ends what a previous run left, then starts runOnInit of each path named exactly in `paths`. */
  start(): void {
    this.counters.leftoversEnded += this.pidFiles?.endLeftovers() ?? 0;
    for (const name of this.deps.settings.initPaths()) {
      const found = this.pathOptions(name);
      if (found === undefined) continue;
      const p = this.keep('runOnInit', found.settings, this.pathVars(name, '', found.captures));
      if (p !== undefined) this.onInit.set(name, p);
    }
  }

  // ---- paths ----

  pathReady(name: string, source: PathParty): void {
    const found = this.pathOptions(name);
    if (found === undefined) return;
    void this.onReady.get(name)?.stop();
    const vars = { ...this.pathVars(name, '', found.captures), ...partyVars('SOURCE', source) };
    const p = this.keep('runOnReady', found.settings, vars);
    if (p !== undefined) this.onReady.set(name, p);
    else this.onReady.delete(name);
  }

  pathNotReady(name: string, source: PathParty): void {
    const ready = this.onReady.get(name);
    this.onReady.delete(name);
    const found = this.pathOptions(name);
    if (found === undefined) return void ready?.stop();
    const vars = { ...this.pathVars(name, '', found.captures), ...partyVars('SOURCE', source) };
    this.afterStop(ready, 'runOnNotReady', found.settings.runOnNotReady, vars);
  }

  // ---- readers ----

  readStarted(sessionId: string, path: string, query: string, reader: PathParty): void {
    if (this.reads.has(sessionId)) return; // PLAY after PAUSE: still the same read
    const found = this.pathOptions(path);
    if (found === undefined) return;
    // The variables only for a command: a join storm's PLAYs paid for them (3 % of a storm's JS) with none.
    const p =
      found.settings.runOnRead === ''
        ? undefined
        : this.keep('runOnRead', found.settings, {
            ...this.pathVars(path, query, found.captures),
            ...partyVars('READER', reader),
          });
    // Noted even without a command, so that runOnUnread runs for reads that started.
    this.reads.set(sessionId, { process: p ?? NO_PROCESS, path, query, reader });
  }

  readEnded(sessionId: string): void {
    const read = this.reads.get(sessionId);
    this.reads.delete(sessionId);
    if (read === undefined) return;
    const kept = read.process !== NO_PROCESS ? read.process : undefined;
    const found = this.pathOptions(read.path);
    if (found === undefined || found.settings.runOnUnread === '') return void kept?.stop();
    const vars = {
      ...this.pathVars(read.path, read.query, found.captures),
      ...partyVars('READER', read.reader),
    };
    this.afterStop(kept, 'runOnUnread', found.settings.runOnUnread, vars);
  }

  // ---- connections ----

  connectionOpened(id: string, remote: string): void {
    const c = this.deps.settings.server();
    if (c.runOnConnect === '') return;
    const vars = { ...this.baseVars(), RTSPKIT_CONN_ID: id, RTSPKIT_CONN_REMOTE: remote };
    const p = this.spawn('runOnConnect', c.runOnConnect, vars, c.runOnConnectRestart);
    if (p !== undefined) this.onConnect.set(id, p);
  }

  connectionClosed(id: string, remote: string): void {
    const p = this.onConnect.get(id);
    this.onConnect.delete(id);
    const vars = { ...this.baseVars(), RTSPKIT_CONN_ID: id, RTSPKIT_CONN_REMOTE: remote };
    this.afterStop(p, 'runOnDisconnect', this.deps.settings.server().runOnDisconnect, vars);
  }

  // ---- recordings ----

  segmentComplete(path: string, file: string, durationMs: number): void {
    const found = this.pathOptions(path);
    if (found === undefined) return;
    const vars = {
      ...this.pathVars(path, '', found.captures),
      RTSPKIT_SEGMENT_PATH: file,
      RTSPKIT_SEGMENT_DURATION: (durationMs / 1000).toFixed(3),
    };
    this.once('runOnRecordSegmentComplete', found.settings.runOnRecordSegmentComplete, vars);
  }

  // ---- on demand ----

  /**
   * The runOnDemand command of path `name` (not started): what on-demand.ts hands the path manager.
   * Undefined when the path has none or its command line is bad.
   */
  demandCommand(
    name: string,
    query: string,
    settings: PathHookSettings,
    captures: readonly string[],
  ): HookProcess | undefined {
    if (settings.runOnDemand === '') return undefined;
    return this.make(
      'runOnDemand',
      settings.runOnDemand,
      this.pathVars(name, query, captures),
      settings.runOnDemandRestart,
    );
  }

  /** A name refused for an unsafe capture, counted (on-demand.ts and the lookups here). */
  unsafeCapture(name: string, key: string): void {
    this.counters.unsafeCaptures++;
    this.deps.logger.warn(
      { path: name, pattern: key },
      'path refused: a regex capture has unsafe characters',
    );
  }

  /** Ends every command (SIGTERM to each group, SIGKILL after a delay); none starts afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.live].map((p) => p.stop()));
  }

  /** Commands running now. */
  get runningCount(): number {
    return this.running;
  }

  // ---- inside ----

  private pathOptions(name: string): { settings: PathHookSettings; captures: string[] } | undefined {
    const found = this.deps.settings.path(name);
    if (found.ok) return found;
    this.unsafeCapture(name, found.key);
    return undefined;
  }

  private baseVars(): Record<string, string> {
    return { RTSP_PORT: String(this.deps.rtspPort()) };
  }

  private pathVars(name: string, query: string, captures: readonly string[]): Record<string, string> {
    const vars: Record<string, string> = { ...this.baseVars(), RTSPKIT_PATH: name, RTSPKIT_QUERY: query };
    for (let i = 1; i < captures.length && i <= 9; i++) vars[`G${i}`] = captures[i]!;
    return vars;
  }

  /** A command kept running while what it is for lasts (the option's `...Restart` says whether to restart). */
  private keep(
    option: PathOptionCommand,
    settings: PathHookSettings,
    vars: Record<string, string>,
  ): HookProcess | undefined {
    const line = settings[option];
    if (line === '') return undefined;
    const restart =
      option === 'runOnInit'
        ? settings.runOnInitRestart
        : option === 'runOnReady'
          ? settings.runOnReadyRestart
          : option === 'runOnRead'
            ? settings.runOnReadRestart
            : settings.runOnDemandRestart;
    return this.spawn(option, line, vars, restart);
  }

  /**
   * Ends `kept` (the command of what just ended), then runs the command of its end: in that order, so
   * the two never overlap and the first's place counts for the second (hooksMaxProcesses).
   */
  private afterStop(
    kept: HookProcess | undefined,
    event: string,
    line: string,
    vars: Record<string, string>,
  ): void {
    if (kept === undefined) return this.once(event, line, vars);
    void kept.stop().then(() => this.once(event, line, vars));
  }

  /** A command run once, to its end (or the server's close). */
  private once(event: string, line: string, vars: Record<string, string>): void {
    if (line === '') return;
    this.spawn(event, line, vars, false);
  }

  private spawn(
    event: string,
    line: string,
    vars: Record<string, string>,
    restart: boolean,
  ): HookProcess | undefined {
    const p = this.make(event, line, vars, restart);
    if (p === undefined || !p.start()) return undefined;
    return p;
  }

  private make(
    event: string,
    line: string,
    vars: Record<string, string>,
    restart: boolean,
  ): HookProcess | undefined {
    if (this.closed) return undefined;
    let argv: [string, ...string[]];
    try {
      argv = commandArgv(line, vars, this.deps.settings.server().hooksUseShell);
    } catch (err) {
      if (!(err instanceof CommandLineError)) throw err;
      this.counters.badCommandLines++;
      this.deps.logger.warn({ event, err: err.message }, 'hook not started');
      return undefined;
    }
    const p: HookProcess = new HookProcess(
      { event, argv, env: vars, restart },
      {
        clock: this.deps.clock,
        logger: this.deps.logger,
        pidFiles: this.pidFiles,
        backoff: this.deps.backoff ?? DEFAULT_RESTART_BACKOFF,
        acquire: () => {
          if (this.closed) return false;
          if (this.running >= this.deps.settings.server().hooksMaxProcesses) {
            this.counters.refusedAtLimit++;
            this.deps.logger.warn(
              { event, running: this.running },
              'hook not started: hooksMaxProcesses reached',
            );
            return false;
          }
          this.running++;
          this.live.add(p);
          return true;
        },
        release: () => {
          this.running--;
          if (!p.active) this.live.delete(p);
        },
        spawned: () => {
          this.counters.started++;
        },
        exited: () => {
          this.counters.exited++;
        },
      },
    );
    return p;
  }
}

function partyVars(role: 'SOURCE' | 'READER', party: PathParty): Record<string, string> {
  return { [`RTSPKIT_${role}_ID`]: party.id, [`RTSPKIT_${role}_TYPE`]: party.type };
}

/** Who feeds a path, for RTSPKIT_SOURCE_ID / RTSPKIT_SOURCE_TYPE. */
export function sourceParty(owner: PathOwner): PathParty {
  switch (owner.kind) {
    case 'publisher':
      return { id: owner.sessionId, type: 'rtspSession' };
    case 'file-loop':
      return { id: '', type: 'file' };
    case 'embedded':
      return { id: '', type: 'embedded' };
    case 'pull':
      return { id: '', type: 'pull' };
  }
}
