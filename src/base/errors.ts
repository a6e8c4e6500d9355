/**
 * The one error type that sans-I/O parsers throw. `code` is stable and meant for
 * programs (the server maps it to an RTSP status); `message` is for people.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function isParseError(e: unknown): e is ParseError {
  return e instanceof ParseError;
}
