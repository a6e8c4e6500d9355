/**
 * The captures of a path's `~regex` (config `paths`), as they reach a file name, a URL or a command's
 * arguments (`$G1`..`$G9`). A capture comes from a reader's URL, so it is hostile: only the safe set
 * below goes through, and a name whose captures are not all in it is not served at all.
 */

/** Letters, digits, `_` and `-`, with inner dots (`cam.1`): no separator, quote, `$`, space, `..`. */
const SAFE_CAPTURE = /^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)?$/;
const MAX_CAPTURE_LENGTH = 128;

/** Whether a capture may go into a file name, a URL or a command's arguments. */
export function isSafeCapture(capture: string): boolean {
  return capture.length <= MAX_CAPTURE_LENGTH && SAFE_CAPTURE.test(capture);
}

/** `$G1`..`$G9` (and `${G1}`) of `template` replaced by the captures; a missing group is ''. */
export function substituteCaptures(template: string, captures: readonly string[]): string {
  return template.replace(/\$(?:\{G([1-9])\}|G([1-9]))/g, (_m, a?: string, b?: string) => {
    return captures[Number(a ?? b)] ?? '';
  });
}
