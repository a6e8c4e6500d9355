/**
 * Export of recordings over HTTP (the `playback` right on the path):
 *
 *   GET /v1/recordings/NAME/get?start=2026-12-06T10:15:00Z&duration=60&format=mp4|fmp4
 *
 * `start` is an RFC 3339 date-time (ISO 8601 with a UTC offset: `Z` or `+01:00`), `duration` seconds
 * (decimals allowed, at most `maxDurationMs`), `format` `mp4` (the default: progressive, moov first) or
 * `fmp4` (an init segment and one fragment per recorded part). Both have a known length, so both answer
 * `Range: bytes=` (206, or 416 past the end) with `Accept-Ranges: bytes`: a browser's `<video>` seeks in
 * the mp4 by asking for the bytes it needs. The export starts at the keyframe at or before `start`.
 *
 * Statuses: 400 for a malformed or missing `start`/`duration`/`format` or a duration over the limit, 404
 * when nothing of the path is recorded in the window, 416 for a range past the end. A segment file that
 * disappears while its bytes are sent (retention) cuts the response; the client sees a short body.
 *
 * Each request plans again (a range request is a request): the plan of a window that reaches into the
 * segment being recorded grows between requests, so the reply carries an ETag naming the plan's shape.
 */
import type http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../base/logger.js';
import {
  ExportReadError,
  readExport,
  type ExportFormat,
  type RecordingExporter,
} from '../recorder/export.js';
import { parseByteRange } from './byte-range.js';
import { HttpError } from './http-error.js';

export interface RecordingExportOptions {
  exporter: RecordingExporter;
  /** The longest export in ms (`recordExportMaxDuration`), read at each request. */
  maxDurationMs: () => number;
}

/** RFC 3339 §5.6 date-time: full date, `T`, time with optional fraction, and an offset. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const SECONDS = /^\d{1,9}(\.\d{1,6})?$/;

export interface ExportQuery {
  startMs: number;
  durationMs: number;
  format: ExportFormat;
}

/** Reads and checks an export's query; HttpError 400 saying what is wrong. */
export function parseExportQuery(query: URLSearchParams, maxDurationMs: number): ExportQuery {
  const start = query.get('start');
  if (start === null)
    throw new HttpError(400, 'start is missing (an RFC 3339 time, e.g. 2026-12-06T10:15:00Z)');
  const startMs = DATE_TIME.test(start) ? Date.parse(start) : NaN;
  if (!Number.isFinite(startMs))
    throw new HttpError(
      400,
      `start ${JSON.stringify(start.slice(0, 64))} is not an RFC 3339 time like 2026-12-06T10:15:00Z`,
    );
  const duration = query.get('duration');
  if (duration === null) throw new HttpError(400, 'duration is missing (seconds)');
  if (!SECONDS.test(duration))
    throw new HttpError(400, `duration ${JSON.stringify(duration.slice(0, 64))} is not a number of seconds`);
  const durationMs = Number(duration) * 1000;
  if (durationMs <= 0) throw new HttpError(400, 'duration must be more than 0 s');
  if (durationMs > maxDurationMs)
    throw new HttpError(
      400,
      `duration ${duration} s is longer than the longest export, ${maxDurationMs / 1000} s`,
    );
  const format = query.get('format') ?? 'mp4';
  if (format !== 'mp4' && format !== 'fmp4') throw new HttpError(400, 'format must be mp4 or fmp4');
  return { startMs, durationMs, format };
}

/** A file name for Content-Disposition: the path and start, in characters that need no quoting rules. */
function exportFileName(path: string, startMs: number, format: ExportFormat): string {
  const stamp = new Date(startMs).toISOString().replace(/[:.]/g, '-');
  return `${path.replace(/[^\w.-]+/g, '_')}_${stamp}.${format === 'mp4' ? 'mp4' : 'm4s'}`;
}

/** Answers an export request of the recordings of `path` (already decoded and authorized). */
export async function sendRecordingExport(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  query: URLSearchParams,
  options: RecordingExportOptions,
  logger: Logger,
): Promise<void> {
  const q = parseExportQuery(query, options.maxDurationMs());
  const plan = await options.exporter.plan(path, q.startMs, q.durationMs, q.format);
  if ('reason' in plan) throw new HttpError(404, `${path}: ${plan.message}`);
  const etag = `"${plan.totalBytes.toString(36)}-${Math.round(plan.startMs).toString(36)}-${plan.sampleCounts.join('.')}"`;
  const headers: Record<string, string> = {
    'Content-Type': plan.contentType,
    'Accept-Ranges': 'bytes',
    ETag: etag,
    'Cache-Control': 'no-store',
    'Content-Disposition': `inline; filename="${exportFileName(path, plan.startMs, q.format)}"`,
    'X-Content-Type-Options': 'nosniff',
  };
  // A range from another version of the export (If-Range with an older ETag) gets the whole new one.
  const ifRange = req.headers['if-range'];
  const range =
    ifRange === undefined || ifRange === etag
      ? parseByteRange(req.headers.range, plan.totalBytes)
      : ({ kind: 'whole' } as const);
  if (range.kind === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${plan.totalBytes}`, 'Content-Length': '0' });
    res.end();
    return;
  }
  const from = range.kind === 'range' ? range.from : 0;
  const to = range.kind === 'range' ? range.to : plan.totalBytes;
  if (range.kind === 'range') {
    headers['Content-Range'] = `bytes ${from}-${to - 1}/${plan.totalBytes}`;
  }
  res.writeHead(range.kind === 'range' ? 206 : 200, { ...headers, 'Content-Length': String(to - from) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  try {
    await pipeline(Readable.from(readExport(plan, from, to)), res);
  } catch (err) {
    // The status is sent: all that is left is to cut the response short, which pipeline did.
    if (err instanceof ExportReadError) logger.warn({ path, err: err.message }, 'recording export cut');
    else if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')
      logger.debug({ path }, 'recording export: client went away');
    else throw err;
  }
}
