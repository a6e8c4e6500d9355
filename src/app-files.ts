/** The config's files checked at start: the media folder and the paths' files, with errors that say what to check. */
import { statSync } from 'node:fs';
import { ConfigError } from './config/config.js';

/** A media folder that is not there would answer 404 to every request without a word: refuse to start. */
export function checkMediaDir(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw new ConfigError(`mediaDir: cannot read ${dir}: ${(err as Error).message}`);
  }
  if (!isDir) throw new ConfigError(`mediaDir: ${dir} is not a folder`);
}

/** A config path whose file cannot be played, as a one-line config error saying what to check. */
export function fileSourceError(name: string, file: string, err: unknown, demoClip: string): ConfigError {
  let code: string | undefined;
  try {
    if (statSync(file).isDirectory()) code = 'EISDIR';
  } catch (statErr) {
    code = (statErr as NodeJS.ErrnoException).code;
  }
  const why =
    code === 'ENOENT'
      ? 'no such file (a relative path is taken from the working directory)'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'it is a folder (mediaDir serves a folder on demand)'
          : (err as Error).message.split('\n')[0]!.replace(`cannot open ${file}: `, '');
  const where =
    name === 'demo' && file === demoClip
      ? 'demo (media/demo.mp4, made by scripts/make-demo.sh)'
      : `paths.${name}.source`;
  return new ConfigError(`${where}: cannot play ${file}: ${why}`);
}
