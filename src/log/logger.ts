/** Structured JSON logs (one line per event) through pino. */
import { pino } from 'pino';
import type { Logger } from '../base/logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The root logger: engines get it as a Logger; its level can change while running (config reload). */
export interface RootLogger extends Logger {
  level: string;
}

export function createLogger(
  level: LogLevel = 'info',
  destination: NodeJS.WritableStream = process.stdout,
): RootLogger {
  // Children made with .child() follow a later change of the root's level (pino keeps them linked).
  return pino({ level, base: { app: 'rtspkit' } }, destination);
}
