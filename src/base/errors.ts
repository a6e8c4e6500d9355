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

/**
 * An error from the operating system (a file, a socket, a lookup): Node gives those a `syscall` and a
 * string `code` (`ENOENT`, `EADDRINUSE`...). Not a ParseError, whose `code` is ours, nor a bug's TypeError.
 */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return (
    e instanceof Error &&
    typeof (e as NodeJS.ErrnoException).syscall === 'string' &&
    typeof (e as NodeJS.ErrnoException).code === 'string'
  );
}
