/**
 * Path patterns for per-user rights. Paths are compared without leading or trailing slashes.
 *
 *   cam1         exactly `cam1`
 *   cam*         one segment starting with `cam` (`*` and `?` never cross a `/`)
 *   site/**      `site` and everything below it (`**` crosses segments)
 *   ~^cam[0-9]+$ a regular expression (after `~`), tested against the whole path
 *
 * Patterns come from the operator's config, not from the network, so a regex is trusted.
 */
import { ParseError } from '../base/errors.js';
import { AuthErrorCode } from './password.js';

export type PathMatcher = (path: string) => boolean;

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      i++;
      const atStart = i === 1;
      const atEnd = i === glob.length - 1;
      // `a/**` also matches `a`; `**/b` also matches `b`.
      if (glob[i + 1] === '/' && (atStart || glob[i - 2] === '/')) {
        re += '(?:.*/)?';
        i++;
      } else if (atEnd && re.endsWith('/')) {
        re = `${re.slice(0, -1)}(?:/.*)?`;
      } else {
        re += '.*';
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** Compiles a path pattern; ParseError (AUTH_BAD_PATTERN) for an invalid regular expression. */
export function compilePathPattern(pattern: string): PathMatcher {
  if (pattern.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(pattern.slice(1), 'u');
    } catch (e) {
      throw new ParseError(AuthErrorCode.BadPattern, `invalid path regex: ${(e as Error).message}`);
    }
    return (path) => re.test(trimSlashes(path));
  }
  const re = globToRegExp(trimSlashes(pattern));
  return (path) => re.test(trimSlashes(path));
}
