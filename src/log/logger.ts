/** Structured logs (one line per event) through pino: JSON lines, or the same events as text lines. */
import { pino } from 'pino';
import type { Logger } from '../base/logger.js';
import { textLogDestination } from './text-format.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `auto`: text on a terminal, JSON otherwise (a file, a pipe, a log collector). */
export const LOG_FORMATS = ['auto', 'text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The root logger: engines get it as a Logger; its level can change while running (config reload). */
export interface RootLogger extends Logger {
  level: string;
}

/** What `format` means for `destination`: `text` or `json`. */
export function resolveLogFormat(
  format: LogFormat,
  destination: NodeJS.WritableStream & { isTTY?: boolean },
): 'text' | 'json' {
  if (format !== 'auto') return format;
  return destination.isTTY === true ? 'text' : 'json';
}

export function createLogger(
  level: LogLevel = 'info',
  destination: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  format: LogFormat = 'json',
): RootLogger {
  const text = resolveLogFormat(format, destination) === 'text';
  // Children made with .child() follow a later change of the root's level (pino keeps them linked).
  return pino(
    { level, base: { app: 'rtspkit' } },
    text
      ? textLogDestination(destination, destination.isTTY === true && !('NO_COLOR' in process.env))
      : destination,
  );
}
