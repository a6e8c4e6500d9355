/**
 * The RTSP framer: a sans-I/O state machine that turns a byte stream, cut anywhere, into RTSP requests,
 * responses (RFC 2326 §6, §7) and `$` interleaved frames (§10.12).
 *
 * Tolerances, as real peers need them: bare LF line ends, empty lines between messages (RFC 2616 §4.1),
 * folded header lines (continuations starting with SP or HT, joined with one space), any letter case in
 * header names, `HTTP/1.x` start lines (the GET and POST that open an RTSP-over-HTTP tunnel). A message
 * has a body only when it carries Content-Length (RFC 2326 §4.3); `$` frames are recognised between
 * messages only, never inside one.
 *
 * Every input byte is looked at once: the scan for a line end starts where the previous chunk stopped, and
 * partial lines, bodies and frames are kept as a list of chunk slices joined once when complete. A `$`
 * payload lying within one chunk is a zero-copy slice of that chunk, so callers must not reuse a chunk's
 * memory after pushing it. Bodies are copied (they are small and may live long, e.g. an ANNOUNCEd SDP).
 *
 * Memory is bounded by FramerLimits: a limit is checked before a byte is kept, so a 10 MB header line fails
 * after at most `maxHeaderBytes` bytes are held. After an error the framer is failed for good and rethrows
 * the same ParseError, since the stream position is lost.
 */
import { ParseError } from '../base/errors.js';
import { RtspHeaders } from './headers.js';
import type { RtspMessage, RtspRequest, RtspResponse } from './message.js';
import { MAX_INTERLEAVED_PAYLOAD } from './message.js';
import { RtspErrorCode } from './status.js';
import { isToken } from './syntax.js';

export interface FramerLimits {
  /** Longest request or status line, without its line end (error RTSP_START_LINE_TOO_LONG). */
  maxStartLineBytes: number;
  /** Largest header section after the start line, line ends included (RTSP_HEADERS_TOO_LARGE). */
  maxHeaderBytes: number;
  /** Most header fields in one message (RTSP_TOO_MANY_HEADERS). */
  maxHeaderCount: number;
  /** Largest Content-Length accepted (RTSP_BODY_TOO_LARGE). */
  maxBodyBytes: number;
  /** Largest `$` payload accepted, at most 65535 (RTSP_INTERLEAVED_TOO_LARGE). */
  maxInterleavedBytes: number;
}

export const DEFAULT_FRAMER_LIMITS: FramerLimits = Object.freeze({
  // Request URIs carry tokens in their query (JWTs of a few KB are common); 8 KB leaves room.
  maxStartLineBytes: 8 * 1024,
  maxHeaderBytes: 64 * 1024,
  maxHeaderCount: 100,
  // Bodies are SDP (ANNOUNCE, DESCRIBE replies) and parameter lists: small.
  maxBodyBytes: 1024 * 1024,
  maxInterleavedBytes: MAX_INTERLEAVED_PAYLOAD,
});

const CR = 0x0d;
const LF = 0x0a;
const DOLLAR = 0x24;
const EMPTY = Buffer.alloc(0);

const State = {
  /** Between messages: skipping empty lines, looking for `$` or a start line. */
  Idle: 0,
  StartLine: 1,
  Headers: 2,
  Body: 3,
  FrameHeader: 4,
  FramePayload: 5,
  Failed: 6,
} as const;
type State = (typeof State)[keyof typeof State];

type StartLine = Omit<RtspRequest, 'headers' | 'body'> | Omit<RtspResponse, 'headers' | 'body'>;

/**
 * What #headers holds between messages: never appended to (a start line gives each message its own). A
 * connection's framer lives as long as the connection; holding the last request's headers cost a reader
 * ~0.5 KB of heap at 1000 readers.
 */
const NO_HEADERS = new RtspHeaders();

export class RtspFramer {
  readonly #limits: FramerLimits;
  #state: State = State.Idle;
  #error: unknown;

  /** Chunks written but not yet parsed; parsing resumes at #inputPos in the first one. */
  #input: Buffer[] = [];
  #inputPos = 0;
  #inputBytes = 0;
  /** Bytes of the message being parsed consumed so far. */
  #messageBytes = 0;

  // Line being read (start line or header line): slices of earlier chunks.
  #lineParts: Buffer[] = [];
  #lineBytes = 0;

  #startLine: StartLine | undefined;
  /** The headers of the message being read; between messages none, so a handed-out message is not kept. */
  #headers = NO_HEADERS;
  #headerBytes = 0;
  #headerCount = 0;
  /** Last header field read, kept open until the next line shows it is not continued. */
  #fieldName: string | undefined;
  #fieldValue = '';

  // Body or `$` payload being read.
  #parts: Buffer[] = [];
  #remaining = 0;
  #channel = 0;
  /**
   * A `$` header split across reads, its bytes so far big-endian in a number: a Buffer of its own would be
   * an ArrayBuffer and a native backing store per connection (~0.3 KB), and a slice of Node's pool would
   * keep a whole 8 KB slab alive per connection.
   */
  #frameHeader = 0;
  #frameHeaderFill = 0;

  constructor(limits?: Partial<FramerLimits>) {
    const l = { ...DEFAULT_FRAMER_LIMITS, ...limits };
    for (const [k, v] of Object.entries(l)) {
      if (!Number.isSafeInteger(v) || v < 0)
        throw new RangeError(`FramerLimits.${k} must be a non-negative integer`);
    }
    l.maxInterleavedBytes = Math.min(l.maxInterleavedBytes, MAX_INTERLEAVED_PAYLOAD);
    this.#limits = l;
  }

  /** Parses `chunk` after what came before; returns every message completed, in order. */
  push(chunk: Buffer): RtspMessage[] {
    this.write(chunk);
    const out: RtspMessage[] = [];
    for (let m = this.read(); m !== undefined; m = this.read()) out.push(m);
    return out;
  }

  /**
   * Queues `chunk` without parsing it; `read` then yields messages one at a time. Together with `takeUnread`
   * this lets a caller stop after a given message, e.g. the POST that turns the rest of an HTTP tunnel into
   * base64. Memory grows with what is written and not read.
   */
  write(chunk: Buffer): void {
    this.#throwIfFailed();
    if (chunk.length === 0) return;
    this.#input.push(chunk);
    this.#inputBytes += chunk.length;
  }

  /** The next complete message from the written input, or undefined when more input is needed. */
  read(): RtspMessage | undefined {
    this.#throwIfFailed();
    try {
      while (this.#input.length > 0) {
        const chunk = this.#input[0]!;
        const before = this.#inputPos;
        const message = this.#step(chunk);
        this.#inputBytes -= this.#inputPos - before;
        if (this.#inputPos >= chunk.length) {
          this.#input.shift();
          this.#inputPos = 0;
        }
        if (message !== undefined) return message;
      }
      return undefined;
    } catch (e) {
      this.#fail(e);
      throw e;
    }
  }

  /**
   * Hands back the written bytes not parsed yet and forgets them. Bytes of a message only partly parsed are
   * dropped, so call it right after `read` returned the message after which the stream changes protocol.
   */
  takeUnread(): Buffer {
    const first = this.#input[0];
    const rest = first === undefined ? [] : [first.subarray(this.#inputPos), ...this.#input.slice(1)];
    this.#input = [];
    this.#inputPos = 0;
    this.#inputBytes = 0;
    this.#resetMessage();
    return rest.length === 1 ? rest[0]! : Buffer.concat(rest);
  }

  /** Bytes held: the part of the current message received so far plus written input not yet read. */
  get bufferedBytes(): number {
    return this.#messageBytes + this.#inputBytes;
  }

  #throwIfFailed(): void {
    if (this.#state === State.Failed) throw this.#error;
  }

  #fail(e: unknown): void {
    this.#state = State.Failed;
    this.#error = e;
    this.#input = [];
    this.#inputBytes = 0;
    this.#lineParts = [];
    this.#parts = [];
    this.#messageBytes = 0;
  }

  #consume(n: number): void {
    this.#inputPos += n;
    this.#messageBytes += n;
  }

  /** Advances through `chunk` until a message completes (returned) or the chunk is used up. */
  #step(chunk: Buffer): RtspMessage | undefined {
    const limits = this.#limits;
    while (this.#inputPos < chunk.length) {
      switch (this.#state) {
        case State.Idle: {
          const b = chunk[this.#inputPos];
          if (b === CR || b === LF) {
            this.#inputPos++;
          } else if (b === DOLLAR) {
            this.#state = State.FrameHeader;
            this.#frameHeaderFill = 0;
          } else {
            this.#state = State.StartLine;
          }
          break;
        }

        case State.StartLine: {
          const line = this.#takeLine(chunk, limits.maxStartLineBytes, RtspErrorCode.StartLineTooLong);
          if (line === undefined) return undefined;
          this.#startLine = parseStartLine(line);
          this.#headers = new RtspHeaders();
          this.#state = State.Headers;
          break;
        }

        case State.Headers: {
          const budget = limits.maxHeaderBytes - this.#headerBytes;
          const before = this.#inputPos;
          const pending = this.#lineBytes;
          const line = this.#takeLine(chunk, budget, RtspErrorCode.HeadersTooLarge, true);
          if (line === undefined) return undefined;
          this.#headerBytes += pending + (this.#inputPos - before);
          const message = this.#onHeaderLine(line);
          if (message !== undefined) return message;
          break;
        }

        case State.Body: {
          const pos = this.#inputPos;
          const take = Math.min(chunk.length - pos, this.#remaining);
          this.#consume(take);
          this.#remaining -= take;
          if (this.#remaining === 0 && this.#parts.length === 0) {
            return this.#finishMessage(Buffer.from(chunk.subarray(pos, pos + take)));
          }
          this.#parts.push(chunk.subarray(pos, pos + take));
          if (this.#remaining > 0) return undefined;
          const body = Buffer.concat(this.#parts);
          this.#parts = [];
          return this.#finishMessage(body);
        }

        case State.FrameHeader: {
          const pos = this.#inputPos;
          let length: number;
          if (this.#frameHeaderFill === 0 && chunk.length - pos >= 4) {
            this.#channel = chunk[pos + 1]!;
            length = chunk.readUInt16BE(pos + 2);
            this.#consume(4);
          } else {
            const take = Math.min(4 - this.#frameHeaderFill, chunk.length - pos);
            if (this.#frameHeaderFill === 0) this.#frameHeader = 0;
            for (let k = 0; k < take; k++) this.#frameHeader = this.#frameHeader * 256 + chunk[pos + k]!;
            this.#frameHeaderFill += take;
            this.#consume(take);
            if (this.#frameHeaderFill < 4) return undefined;
            // '$', channel, 16-bit length (RFC 2326 §10.12).
            this.#channel = Math.floor(this.#frameHeader / 65536) % 256;
            length = this.#frameHeader % 65536;
          }
          if (length > limits.maxInterleavedBytes) {
            throw new ParseError(
              RtspErrorCode.InterleavedTooLarge,
              `interleaved frame of ${length} bytes exceeds the limit of ${limits.maxInterleavedBytes}`,
            );
          }
          if (length === 0) return this.#finishFrame(EMPTY);
          this.#remaining = length;
          this.#state = State.FramePayload;
          break;
        }

        case State.FramePayload: {
          const pos = this.#inputPos;
          const take = Math.min(chunk.length - pos, this.#remaining);
          this.#consume(take);
          this.#remaining -= take;
          if (this.#remaining === 0 && this.#parts.length === 0) {
            return this.#finishFrame(chunk.subarray(pos, pos + take));
          }
          this.#parts.push(chunk.subarray(pos, pos + take));
          if (this.#remaining > 0) return undefined;
          const payload = Buffer.concat(this.#parts);
          this.#parts = [];
          return this.#finishFrame(payload);
        }

        case State.Failed:
          // Unreachable: read() refuses to run once failed.
          return undefined;
      }
    }
    return undefined;
  }

  /**
   * Takes one line ending in LF (a CR before it is dropped) if `chunk` completes it, else keeps the partial
   * line and returns undefined. `max` bounds the line's bytes (without the line end, or with it when
   * `countLineEnd`); the check runs before anything is kept.
   */
  #takeLine(chunk: Buffer, max: number, code: RtspErrorCode, countLineEnd = false): string | undefined {
    const pos = this.#inputPos;
    const lf = chunk.indexOf(LF, pos);
    const end = lf < 0 ? chunk.length : lf;
    const bytes = this.#lineBytes + (end - pos);
    // Until the LF is seen, the last byte may be the CR of the line end: allow for it.
    const slack = countLineEnd ? 0 : 1;
    if (bytes > max + slack) throw tooLong(code, max);
    if (lf < 0) {
      this.#lineParts.push(chunk.subarray(pos));
      this.#lineBytes = bytes;
      this.#consume(chunk.length - pos);
      return undefined;
    }
    this.#consume(lf + 1 - pos);
    // The line is decoded in place when it lies in this chunk; joined first when it spans chunks.
    let buf = chunk;
    let start = pos;
    let stop = end;
    if (this.#lineParts.length > 0) {
      this.#lineParts.push(chunk.subarray(pos, end));
      buf = Buffer.concat(this.#lineParts, bytes);
      this.#lineParts = [];
      start = 0;
      stop = buf.length;
    }
    this.#lineBytes = 0;
    const hasCr = stop > start && buf[stop - 1] === CR;
    const contentStop = hasCr ? stop - 1 : stop;
    const counted = countLineEnd ? bytes + 1 : contentStop - start;
    if (counted > max) throw tooLong(code, max);
    return buf.toString('utf8', start, contentStop);
  }

  /** Handles one header line; returns the message when it was the empty line and the message has no body. */
  #onHeaderLine(line: string): RtspMessage | undefined {
    if (line.includes('\r') || line.includes('\0')) {
      throw new ParseError(RtspErrorCode.BadHeader, 'header line holds a CR or NUL');
    }
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // RFC 2616 §2.2: a continuation line; its leading whitespace and the line break fold into one space.
      if (this.#fieldName === undefined) {
        throw new ParseError(RtspErrorCode.BadHeader, 'continuation line before any header field');
      }
      const more = trimOws(line);
      if (more !== '') this.#fieldValue = this.#fieldValue === '' ? more : `${this.#fieldValue} ${more}`;
      return undefined;
    }
    this.#closeField();
    if (line === '') return this.#endOfHeaders();

    const colon = line.indexOf(':');
    // Whitespace before the colon is tolerated (some cameras write `CSeq : 1`).
    const name = colon < 0 ? '' : line.slice(0, colon).trimEnd();
    if (!isToken(name)) {
      throw new ParseError(
        RtspErrorCode.BadHeader,
        `malformed header line ${JSON.stringify(line.slice(0, 64))}`,
      );
    }
    if (++this.#headerCount > this.#limits.maxHeaderCount) {
      throw new ParseError(
        RtspErrorCode.TooManyHeaders,
        `more than ${this.#limits.maxHeaderCount} header fields in one message`,
      );
    }
    this.#fieldName = name;
    this.#fieldValue = trimOws(line.slice(colon + 1));
    return undefined;
  }

  #closeField(): void {
    if (this.#fieldName === undefined) return;
    this.#headers.append(this.#fieldName, this.#fieldValue);
    this.#fieldName = undefined;
    this.#fieldValue = '';
  }

  #endOfHeaders(): RtspMessage | undefined {
    const length = contentLength(this.#headers, this.#limits.maxBodyBytes);
    if (length === 0) return this.#finishMessage(EMPTY);
    this.#remaining = length;
    this.#state = State.Body;
    return undefined;
  }

  #finishMessage(body: Buffer): RtspMessage {
    const start = this.#startLine!;
    const headers = this.#headers;
    this.#headers = NO_HEADERS;
    this.#resetMessage();
    return start.kind === 'request'
      ? { kind: 'request', method: start.method, uri: start.uri, version: start.version, headers, body }
      : {
          kind: 'response',
          version: start.version,
          statusCode: start.statusCode,
          reason: start.reason,
          headers,
          body,
        };
  }

  #finishFrame(payload: Buffer): RtspMessage {
    const channel = this.#channel;
    this.#resetMessage();
    return { kind: 'interleaved', channel, payload };
  }

  #resetMessage(): void {
    this.#state = State.Idle;
    this.#messageBytes = 0;
    this.#lineParts = [];
    this.#lineBytes = 0;
    this.#startLine = undefined;
    this.#headerBytes = 0;
    this.#headerCount = 0;
    this.#fieldName = undefined;
    this.#fieldValue = '';
    this.#parts = [];
    this.#remaining = 0;
    this.#frameHeaderFill = 0;
  }
}

function tooLong(code: RtspErrorCode, max: number): ParseError {
  const what = code === RtspErrorCode.StartLineTooLong ? 'start line' : 'header section';
  return new ParseError(code, `${what} exceeds the limit of ${max} bytes`);
}

/** Strips optional whitespace (SP, HT) at both ends, and nothing else. */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

const RTSP_VERSION_RE = /^RTSP\/\d{1,3}\.\d{1,3}$/;
const HTTP_VERSION_RE = /^HTTP\/1\.\d$/;
const PROTOCOL_LIKE_RE = /^[A-Za-z][A-Za-z0-9-]*\/\S*$/;

/** True for the versions the framer accepts: `RTSP/x.y` and `HTTP/1.x` (tunnelling). */
export function isSupportedVersion(version: string): boolean {
  return RTSP_VERSION_RE.test(version) || HTTP_VERSION_RE.test(version);
}

function checkVersion(version: string, line: string): void {
  if (isSupportedVersion(version)) return;
  if (PROTOCOL_LIKE_RE.test(version)) {
    throw new ParseError(RtspErrorCode.BadVersion, `unsupported protocol version ${JSON.stringify(version)}`);
  }
  throw badStartLine(line);
}

function badStartLine(line: string): ParseError {
  return new ParseError(
    RtspErrorCode.BadStartLine,
    `malformed start line ${JSON.stringify(line.slice(0, 64))}`,
  );
}

/** `METHOD SP URI SP VERSION` (RFC 2326 §6.1) or `VERSION SP CODE [SP REASON]` (§7.1). */
function parseStartLine(line: string): StartLine {
  if (/[\0\r]/.test(line)) throw badStartLine(line);
  if (line.startsWith('RTSP/') || line.startsWith('HTTP/')) {
    const sp = line.indexOf(' ');
    const version = sp < 0 ? line : line.slice(0, sp);
    checkVersion(version, line);
    const m = /^ +(\d{3})(?: (.*))?$/.exec(line.slice(version.length));
    if (m === null) throw badStartLine(line);
    return { kind: 'response', version, statusCode: Number(m[1]), reason: trimOws(m[2] ?? '') };
  }
  const parts = trimOws(line).split(/[ \t]+/);
  if (parts.length !== 3) throw badStartLine(line);
  const [method, uri, version] = parts as [string, string, string];
  if (!isToken(method)) throw badStartLine(line);
  checkVersion(version, line);
  return { kind: 'request', method, uri, version };
}

/** The body length from Content-Length (any casing); repeated fields must agree. */
function contentLength(headers: RtspHeaders, maxBodyBytes: number): number {
  let length = 0;
  let seen = false;
  for (const value of headers.getAll('content-length')) {
    if (!/^\d+$/.test(value)) {
      throw new ParseError(
        RtspErrorCode.BadContentLength,
        `Content-Length ${JSON.stringify(value.slice(0, 32))}`,
      );
    }
    // Past 15 digits the number is beyond any limit; Infinity keeps the comparison exact enough.
    const n = value.length > 15 ? Number.POSITIVE_INFINITY : Number(value);
    if (seen && n !== length) {
      throw new ParseError(RtspErrorCode.BadContentLength, 'conflicting Content-Length fields');
    }
    length = n;
    seen = true;
  }
  if (length > maxBodyBytes) {
    const shown = Number.isFinite(length) ? String(length) : 'over 10^15';
    throw new ParseError(
      RtspErrorCode.BodyTooLarge,
      `body of ${shown} bytes exceeds the limit of ${maxBodyBytes}`,
    );
  }
  return length;
}
