/**
 * The external auth hook: an HTTP endpoint POSTed who asks for what (user, ip, action, path, query) and
 * answering 2xx to allow; for Digest it answers the user's HA1 as JSON `{ ha1, algorithm }`, so the
 * password never leaves it. Any failure (timeout, non-2xx, a malformed answer) denies.
 */
import type { Logger } from '../base/logger.js';
import type { DigestFamily } from '../auth/password.js';

export const DEFAULT_HOOK_TIMEOUT_MS = 3000;
const HOOK_BODY_LIMIT_BYTES = 16 * 1024;

/** What the hook is told of a request (the Authorizer's AuthContext; kept here so neither imports the other). */
export interface AuthHookContext {
  ip: string;
  action: string;
  path: string;
  query: string;
}

export interface AuthHookConfig {
  url: string;
  timeoutMs?: number;
}

export class AuthHook {
  constructor(
    private readonly hook: AuthHookConfig,
    private readonly realm: string,
    private readonly log: Logger,
  ) {}

  async ha1(ctx: AuthHookContext, user: string, family: DigestFamily): Promise<string | undefined> {
    const body = await this.ask(ctx, { user, realm: this.realm, algorithm: family });
    if (body === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      this.log.warn({ user }, 'auth hook allowed Digest without JSON {ha1, algorithm}: denied');
      return undefined;
    }
    const { ha1, algorithm } = (parsed ?? {}) as { ha1?: unknown; algorithm?: unknown };
    const len = family === 'MD5' ? 32 : 64;
    const algo = typeof algorithm === 'string' ? algorithm.toUpperCase() : 'MD5';
    if (typeof ha1 !== 'string' || !new RegExp(`^[0-9a-fA-F]{${len}}$`).test(ha1) || algo !== family) {
      this.log.warn({ user, family }, `auth hook answer lacks a ${family} HA1: denied`);
      return undefined;
    }
    return ha1.toLowerCase();
  }

  /** POSTs to the hook; the response body (possibly empty) on 2xx, undefined on anything else. */
  async ask(ctx: AuthHookContext, who: Record<string, string>): Promise<string | undefined> {
    const hook = this.hook;
    const timeoutMs = hook.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
    const payload = JSON.stringify({
      ...who,
      ip: ctx.ip,
      action: ctx.action,
      path: ctx.path,
      query: ctx.query,
    });
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        signal,
        redirect: 'error',
      });
      const text = await readLimited(res, HOOK_BODY_LIMIT_BYTES);
      if (res.status < 200 || res.status > 299) {
        this.log.debug({ user: who.user, status: res.status }, 'auth hook denied');
        return undefined;
      }
      return text;
    } catch (e) {
      this.log.warn(
        { user: who.user, url: hook.url, err: signal.aborted ? `timeout after ${timeoutMs} ms` : String(e) },
        'auth hook failed: denied',
      );
      return undefined;
    }
  }
}

/** The body as text, reading at most `limit` bytes (the rest is cancelled). */
async function readLimited(res: Response, limit: number): Promise<string> {
  if (res.body === null) return '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size >= limit) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
