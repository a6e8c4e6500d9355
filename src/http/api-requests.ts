/**
 * What the API reads from a request, apart from routing: the Host header, the JSON body of POST
 * /v1/paths (bounded), percent-encoded path names, a REDIRECT location, the allowed methods.
 */
import type http from 'node:http';
import { z } from 'zod';
import { HttpError } from './http-error.js';

/** A path name as the config accepts it: segments of letters, digits, `_.~-`. */
const PATH_NAME = /^[\w.~-]+(\/[\w.~-]+)*$/;

const addPathBody = z
  .object({
    name: z
      .string()
      .max(200)
      .regex(PATH_NAME, 'expected a path like "cam1" or "site/cam1"')
      .refine((n) => !n.split('/').some((seg) => /^\.+$/.test(seg)), 'a path segment cannot be only dots'),
    /** An MP4 file on the server's disk (relative to its working directory). */
    source: z.string().min(1).max(4096),
    loop: z.boolean().default(true),
  })
  .strict();

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function isLoopbackBind(host: string): boolean {
  return isLoopbackHost(host) || host === '::ffff:127.0.0.1';
}

/** The hostname part of a Host header (IPv6 keeps its brackets), or undefined when malformed. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (hostHeader === undefined || hostHeader === '') return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch (e) {
    if (!(e instanceof TypeError)) throw e; // ERR_INVALID_URL
    return undefined;
  }
}

/** POST /v1/paths: the JSON body (Content-Type, size, schema), or an HttpError saying what is wrong. */
export async function readAddPathBody(
  req: http.IncomingMessage,
  maxBodyBytes: number,
): Promise<z.infer<typeof addPathBody>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'expected Content-Type: application/json');
  const raw = await readBody(req, maxBodyBytes);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new HttpError(400, 'the body is not valid JSON');
  }
  const parsed = addPathBody.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new HttpError(400, `${key}${issue.message}`);
  }
  return parsed.data;
}

/** A request's body, refused with 413 past `maxBodyBytes` (declared or as it arrives). */
function readBody(req: http.IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBodyBytes)
    return Promise.reject(new HttpError(413, `request body larger than ${maxBodyBytes} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        req.removeAllListeners('data');
        req.pause();
        reject(new HttpError(413, `request body larger than ${maxBodyBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function allow(method: string, allowed: readonly string[]): void {
  if (!allowed.includes(method))
    throw new HttpError(405, `method ${method} not allowed here`, {
      Allow: allowed.includes('GET') ? [...allowed, 'HEAD'].join(', ') : allowed.join(', '),
    });
}

export function decodeSegments(rest: string): string {
  try {
    return rest.split('/').map(decodeURIComponent).join('/');
  } catch (e) {
    if (!(e instanceof URIError)) throw e;
    throw new HttpError(400, 'malformed percent-encoding in the URL');
  }
}

/** The `location` of a DELETE that moves a path's readers: an rtsp:// or rtsps:// URL; undefined when absent. */
export function redirectLocation(query: URLSearchParams): string | undefined {
  const raw = query.get('location');
  if (raw === null) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    throw new HttpError(400, 'location: not a URL');
  }
  if (url.protocol !== 'rtsp:' && url.protocol !== 'rtsps:')
    throw new HttpError(400, 'location: an rtsp:// or rtsps:// URL is expected');
  if (/[\s\0]/.test(raw)) throw new HttpError(400, 'location: whitespace is not allowed');
  return raw;
}
