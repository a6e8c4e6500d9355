/**
 * `/v1/recordings`: what is recorded (the recorder's catalog, src/recorder), as JSON, and the DELETE of a
 * span. Times are ISO 8601 UTC strings with their milliseconds since the Unix epoch beside them.
 *
 *   GET    /v1/recordings                  paths with recordings: spans, segment count, recording now
 *   GET    /v1/recordings/<path>           spans, the gaps between them, segments
 *   DELETE /v1/recordings/<path>?start=<ISO time>&end=<ISO time>
 *                                          deletes the finished segments wholly inside [start, end)
 */
import type { RecordedSegment, RecordedSpan } from '../recorder/catalog.js';
import type { RecorderManager } from '../recorder/manager.js';

/** A reply for api.ts to send: a status and a JSON body (none for 204). */
export interface RecordingsReply {
  status: number;
  body?: unknown;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function spanView(s: RecordedSpan): Record<string, unknown> {
  return { start: iso(s.startMs), startMs: s.startMs, durationMs: Math.round(s.durationMs) };
}

function segmentView(s: RecordedSegment): Record<string, unknown> {
  return {
    start: iso(s.startMs),
    startMs: s.startMs,
    durationMs: Math.round(s.durationMs),
    codecs: s.codecs,
    open: s.open,
  };
}

/** The gaps between consecutive spans. */
function gapsOf(spans: readonly RecordedSpan[]): RecordedSpan[] {
  const gaps: RecordedSpan[] = [];
  for (let i = 1; i < spans.length; i++) {
    const end = spans[i - 1]!.startMs + spans[i - 1]!.durationMs;
    gaps.push({ startMs: end, durationMs: spans[i]!.startMs - end });
  }
  return gaps;
}

/** An ISO 8601 time with a zone (or milliseconds since the epoch); undefined when malformed. */
function parseTime(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Answers a request under /v1/recordings (`rest`: what follows it, decoded; '' for the list), or
 * undefined when the method is not one of the URL's.
 */
export async function recordingsReply(
  recordings: RecorderManager,
  method: string,
  rest: string,
  query: URLSearchParams,
): Promise<RecordingsReply> {
  const catalog = recordings.catalog;
  const held = new Map(recordings.recorders().map((r) => [r.path, r.held]));
  if (rest === '') {
    if (method !== 'GET') return { status: 405, body: { error: 'method not allowed' } };
    const names = [...new Set([...catalog.paths(), ...held.keys()])].sort();
    return {
      status: 200,
      body: {
        items: names.map((name) => ({
          name,
          recording: held.has(name) && held.get(name) === null,
          held: held.get(name) ?? null,
          segments: catalog.segments(name).length,
          spans: catalog.spans(name).map(spanView),
        })),
      },
    };
  }
  const name = rest;
  if (method === 'GET') {
    const segments = catalog.segments(name);
    if (segments.length === 0 && !held.has(name))
      return { status: 404, body: { error: `no recordings of ${name}` } };
    const spans = catalog.spans(name);
    return {
      status: 200,
      body: {
        name,
        recording: held.has(name) && held.get(name) === null,
        held: held.get(name) ?? null,
        spans: spans.map(spanView),
        gaps: gapsOf(spans).map(spanView),
        segments: segments.map(segmentView),
      },
    };
  }
  if (method === 'DELETE') {
    const start = parseTime(query.get('start'));
    const end = parseTime(query.get('end'));
    if (start === undefined || end === undefined || end <= start)
      return {
        status: 400,
        body: {
          error: 'expected start and end, ISO 8601 times with a zone (2026-12-06T10:15:00Z), end after start',
        },
      };
    if (catalog.segments(name).length === 0)
      return { status: 404, body: { error: `no recordings of ${name}` } };
    const { deleted, open } = await recordings.deleteRange(name, start, end);
    return { status: 200, body: { deleted, keptOpen: open } };
  }
  return { status: 405, body: { error: 'method not allowed' } };
}
