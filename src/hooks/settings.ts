/**
 * What the hooks read of the config (L4 hands them in, app.ts): each path's commands, looked up with
 * its regex's captures (config/path-config.ts), and the server-wide options. Read at each event, so a
 * reload reaches the next command started.
 */

/** The command options of one path (config/path-schema.ts, seconds as in the file). */
export interface PathHookSettings {
  runOnInit: string;
  runOnInitRestart: boolean;
  runOnDemand: string;
  runOnDemandRestart: boolean;
  runOnDemandStartTimeout: number;
  runOnDemandCloseAfter: number;
  runOnReady: string;
  runOnReadyRestart: boolean;
  runOnNotReady: string;
  runOnRead: string;
  runOnReadRestart: boolean;
  runOnUnread: string;
  runOnRecordSegmentComplete: string;
}

export type PathHookLookup =
  | {
      ok: true;
      /** The `paths` key that named the path, if any (`cam1`, `~^cam(\d+)$`). */
      key: string | undefined;
      settings: PathHookSettings;
      /** [0] the name, [1].. the regex's groups, each in the safe set (paths/captures.ts). */
      captures: string[];
      /** The entry's MP4 file (with `$G1`.. unreplaced) and whether it loops. */
      source: { file: string; loop: boolean } | undefined;
    }
  /** A regex named the path with an unsafe capture: nothing runs or starts for it. */
  | { ok: false; key: string };

export interface ServerHookSettings {
  runOnConnect: string;
  runOnConnectRestart: boolean;
  runOnDisconnect: string;
  hooksUseShell: boolean;
  hooksMaxProcesses: number;
}

export interface HookSettingsSource {
  path(name: string): PathHookLookup;
  server(): ServerHookSettings;
  /** The paths named exactly in the config (runOnInit). */
  initPaths(): string[];
}
