/**
 * The one lookup of a path's options (after mediamtx's `FindPathConf`): which `paths` entry names a path
 * (an exact name before any `~regex`, regexes in the file's order), what its regex captured, and every
 * option's value (pathDefaults, under the `recordPaths` match for recording options, under the entry's
 * own). Everyone asks here: the recorder, the hooks, the server's reader and publisher rules, on-demand
 * sources.
 *
 * A capture comes from a reader's URL, so it is hostile: it reaches a file name, a URL or a command's
 * arguments only when it is made of safe characters (paths/captures.ts); a name whose captures are not
 * is not served at all.
 */
import { compilePathPattern, type PathMatcher } from '../auth/access.js';
import type { Config } from './config.js';
import { isPullSource, type PathEntry, type PathSettings } from './path-schema.js';
import type { HookSettingsSource } from '../hooks/settings.js';
import { isSafeCapture } from '../paths/captures.js';

export { isSafeCapture, substituteCaptures } from '../paths/captures.js';

export interface PathConfig {
  /** The `paths` key that matched (`cam1`, `~^cam(\d+)$`), or undefined: only pathDefaults apply. */
  key: string | undefined;
  /** The entry of that key (source, loop and the options it sets). */
  entry: PathEntry | undefined;
  settings: PathSettings;
  /** The regex's match: [0] the whole name, [1].. its groups ('' for a group that took no part). */
  captures: string[];
}

export type PathLookup =
  | { ok: true; config: PathConfig }
  /** A regex matched but a capture is outside the safe set: the name is not served (404). */
  | { ok: false; key: string; capture: string };

interface CompiledEntries {
  exact: Map<string, PathEntry>;
  regexes: { key: string; re: RegExp; entry: PathEntry }[];
  records: { pattern: string; matches: PathMatcher; overrides: object }[];
}

const compiled = new WeakMap<Config, CompiledEntries>();

function compile(config: Config): CompiledEntries {
  let c = compiled.get(config);
  if (c !== undefined) return c;
  c = { exact: new Map(), regexes: [], records: [] };
  for (const [key, entry] of Object.entries(config.paths)) {
    if (key.startsWith('~')) c.regexes.push({ key, re: new RegExp(key.slice(1), 'u'), entry });
    else c.exact.set(key, entry);
  }
  for (const [pattern, overrides] of Object.entries(config.recordPaths))
    c.records.push({ pattern, matches: compilePathPattern(pattern), overrides });
  compiled.set(config, c);
  return c;
}

function definedOf(values: object): Partial<PathSettings> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

/** The entry naming `name` and its captures, checked; see `pathConfigFor`. */
export function lookupPath(config: Config, name: string): PathLookup {
  const c = compile(config);
  let key: string | undefined;
  let entry = c.exact.get(name);
  let captures = [name];
  if (entry !== undefined) key = name;
  else
    for (const r of c.regexes) {
      const m = r.re.exec(name);
      if (m === null) continue;
      // A group that took no part is undefined at run time, whatever the array's type says.
      const groups = Array.from(m, (g: string | undefined) => g ?? '');
      const unsafe = groups.slice(1).find((g) => !isSafeCapture(g));
      if (unsafe !== undefined) return { ok: false, key: r.key, capture: unsafe };
      ({ key, entry, captures } = { key: r.key, entry: r.entry, captures: groups });
      break;
    }
  const record = c.records.find((r) => r.pattern === name) ?? c.records.find((r) => r.matches(name));
  const { source: _source, loop: _loop, ...options } = entry ?? {};
  const settings: PathSettings = {
    ...config.pathDefaults,
    ...(record !== undefined ? definedOf(record.overrides) : {}),
    ...definedOf(options),
  };
  return { ok: true, config: { key, entry, settings, captures } };
}

/**
 * The options of path `name`: pathDefaults when no entry names it; undefined when a regex names it
 * with a capture outside the safe set (the name must not be served).
 */
export function pathConfigFor(config: Config, name: string): PathConfig | undefined {
  const found = lookupPath(config, name);
  return found.ok ? found.config : undefined;
}

/** What the hooks read of the config in force (src/hooks/settings.ts), looked up at each event. */
export function hookSettingsOf(config: () => Config): HookSettingsSource {
  return {
    path: (name) => {
      const found = lookupPath(config(), name);
      if (!found.ok) return found;
      const { key, entry, settings, captures } = found.config;
      // A pull (rtsp://...) is the pull sources' (app-pulls.ts), not a file.
      const file = entry?.source !== undefined && !isPullSource(entry.source) ? entry.source : undefined;
      const source = file !== undefined ? { file, loop: entry!.loop } : undefined;
      return { ok: true, key, settings, captures, source };
    },
    server: () => config(),
    initPaths: () => Object.keys(config().paths).filter((key) => !key.startsWith('~')),
  };
}
