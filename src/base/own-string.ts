/**
 * A copy of a string that keeps nothing else alive. V8 keeps a substring as a slice of its parent and a
 * concatenation as a pair of its parts: right for strings used and dropped, wrong for a short string kept
 * as long as a session (one per reader), which would keep its request's whole text with it. A round trip
 * through bytes makes a string of its own. UTF-8 round-trips every string decoded from bytes (what the
 * parsers make); a lone surrogate, which no decoder makes, would become U+FFFD.
 */
export function ownString(s: string): string;
export function ownString(s: string | undefined): string | undefined;
export function ownString(s: string | undefined): string | undefined {
  return s === undefined ? undefined : Buffer.from(s, 'utf8').toString('utf8');
}
