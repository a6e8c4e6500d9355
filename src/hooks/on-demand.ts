/**
 * What the config starts when a reader asks for a path nobody feeds (the path manager's
 * `OnDemandSources` seam, src/paths/path.ts):
 * - a path whose options have `runOnDemand`: the command, as an `OnDemandPublisher` (it publishes to
 *   the path itself; the manager waits for its RECORD and stops it after `runOnDemandCloseAfter`);
 * - a `~regex` entry with a `source`: its file, `$G1`.. replaced by the name's captures, played in a
 *   loop like a config path (exact names with a source are started with the config, not here).
 * Captures were checked against the safe set by the lookup (config/path-config.ts): a name with an
 * unsafe one starts nothing (404) and is counted.
 * `next` is asked for names this has nothing for (the pull sources, when they land on main).
 */
import { substituteCaptures } from '../paths/captures.js';
import type { OnDemandPublisher, OnDemandSource, OnDemandSources, PathSource } from '../paths/path.js';
import type { Hooks } from './hooks.js';
import type { HookSettingsSource } from './settings.js';

export interface ConfigOnDemandDeps {
  settings: HookSettingsSource;
  hooks: Hooks;
  /** Opens an MP4 file to loop (PathManager.openFileLoop). */
  openFileLoop(spec: { file: string; loop: boolean }): Promise<PathSource>;
  next?: OnDemandSources;
}

export function configOnDemandSources(deps: ConfigOnDemandDeps): OnDemandSources {
  return {
    sourceFor: (name, query = ''): OnDemandSource | OnDemandPublisher | undefined => {
      const found = deps.settings.path(name);
      if (!found.ok) {
        deps.hooks.unsafeCapture(name, found.key);
        return undefined;
      }
      const { key, source, settings, captures } = found;
      // The first reader's query reaches the command as RTSPKIT_QUERY (e.g. a camera's channel).
      const command = deps.hooks.demandCommand(name, query, settings, captures);
      if (command !== undefined)
        return {
          publishes: true,
          startTimeoutMs: settings.runOnDemandStartTimeout * 1000,
          closeAfterMs: settings.runOnDemandCloseAfter * 1000,
          start: () => command.start(),
          isActive: () => command.active,
          stop: () => command.stop(),
        };
      if (key?.startsWith('~') === true && source !== undefined) {
        const file = substituteCaptures(source.file, captures);
        const loop = source.loop;
        return {
          owner: { kind: 'file-loop', file, origin: 'config' },
          open: () => deps.openFileLoop({ file, loop }),
        };
      }
      return deps.next?.sourceFor(name, query);
    },
  };
}
