/** Structured JSON logs (one line per event) through pino. */
import { pino } from 'pino';
import type { Logger } from '../base/logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(
  level: LogLevel = 'info',
  destination: NodeJS.WritableStream = process.stdout,
): Logger {
  return pino({ level, base: { app: 'rtspkit' } }, destination);
}
