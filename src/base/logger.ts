/**
 * The logging interface engines receive (injected, like the clock). pino's Logger satisfies it;
 * L0-L2 never log: they return values and throw ParseError.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: object): Logger;
  /** pino's: whether lines of `level` are written (callers skip building a debug line's object when not). */
  isLevelEnabled?(level: string): boolean;
}

export const nullLogger: Logger = {
  isLevelEnabled: () => false,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => nullLogger,
};

/**
 * A logger that adds `bindings` to every line it writes through `parent`, for objects there are many of
 * (a connection, a session: one per reader). Made by pino's child() instead, each would hold its own
 * pino instance (its own level methods, serialized bindings: ~0.3 KB of heap per reader); this holds two
 * references and merges the bindings into the line's object when a line is written, which is rare per
 * reader (open, close, errors) against the memory every idle reader keeps. The line is the same as a
 * child's: pino writes the bindings first either way. A field of the line's object wins over a binding of
 * the same name (a child would write both).
 */
class BoundLogger implements Logger {
  constructor(
    private readonly parent: Logger,
    private readonly bindings: object,
  ) {}

  isLevelEnabled(level: string): boolean {
    return this.parent.isLevelEnabled?.(level) ?? true;
  }

  debug(obj: object, msg?: string): void {
    if (this.parent.isLevelEnabled?.('debug') === false) return;
    this.parent.debug({ ...this.bindings, ...obj }, msg);
  }

  info(obj: object, msg?: string): void {
    this.parent.info({ ...this.bindings, ...obj }, msg);
  }

  warn(obj: object, msg?: string): void {
    this.parent.warn({ ...this.bindings, ...obj }, msg);
  }

  error(obj: object, msg?: string): void {
    this.parent.error({ ...this.bindings, ...obj }, msg);
  }

  child(bindings: object): Logger {
    return new BoundLogger(this.parent, { ...this.bindings, ...bindings });
  }
}

/** `parent` with `bindings` on every line, holding no logger of its own (BoundLogger). */
export function boundLogger(parent: Logger, bindings: object): Logger {
  return parent === nullLogger ? nullLogger : new BoundLogger(parent, bindings);
}
