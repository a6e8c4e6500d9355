/**
 * Log lines a person reads on a terminal: `2026-12-06 14:31:02.123 INFO  message key=value ...`, one line
 * per event, made from pino's JSON line (so both formats carry the same fields). Colours only when asked
 * (the caller passes whether the output is a terminal).
 */

const LEVEL_WORDS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** ANSI SGR colours per level: grey, grey, green, yellow, red, red. */
const LEVEL_COLOURS: Readonly<Record<number, string>> = {
  10: '90',
  20: '90',
  30: '32',
  40: '33',
  50: '31',
  60: '31',
};

/** Fields every line has, shown in the line's head rather than as key=value. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'app', 'pid', 'hostname']);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Local time, to the millisecond. */
export function formatLogTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

/** A value as it reads in `key=value`: bare when it has no space, quote or `=`, else JSON (one line). */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}

/** One pino JSON line as a text line (without its line end); a line that is not JSON is returned as it is. */
export function formatLogLine(json: string, colour: boolean): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(json) as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return json.trimEnd();
  }
  const level = typeof event.level === 'number' ? event.level : 30;
  const word = (LEVEL_WORDS[level] ?? String(level)).padEnd(5);
  const time = typeof event.time === 'number' ? formatLogTime(event.time) : '';
  const msg = typeof event.msg === 'string' ? event.msg : '';
  const fields = Object.entries(event)
    .filter(([key]) => !HEAD_FIELDS.has(key))
    .map(([key, value]) => (colour ? `\x1b[2m${key}=\x1b[22m` : `${key}=`) + formatValue(value));
  const head = colour
    ? `\x1b[2m${time}\x1b[22m \x1b[${LEVEL_COLOURS[level] ?? '0'}m${word}\x1b[39m ${msg}`
    : `${time} ${word} ${msg}`;
  return fields.length > 0 ? `${head} ${fields.join(' ')}` : head;
}

/** A destination for pino that writes text lines to `out`. */
export function textLogDestination(
  out: NodeJS.WritableStream,
  colour: boolean,
): { write(chunk: string): boolean } {
  return {
    write(chunk: string): boolean {
      let text = '';
      for (const line of chunk.split('\n')) if (line !== '') text += `${formatLogLine(line, colour)}\n`;
      return out.write(text);
    },
  };
}
