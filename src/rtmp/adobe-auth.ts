/**
 * The server's side of Adobe's RTMP challenge (flv/adobe-auth.ts for the wire form), with
 * `rtmpAdobeAuth: true`: what a `connect` gets, from its app's query.
 *
 * When to ask. The client only starts the exchange when its first `connect` is refused with "need
 * auth", and a `connect` comes before the stream name (`publish`/`play`), where OBS and ffmpeg put
 * `?user=&pass=`. So asking cannot depend on the path: with the option on, every `connect` whose app
 * carries no credentials (`user` with `pass`, or `authmod=adobe`) is asked. Query credentials then go
 * in the app part (OBS: the Server URL, `rtmp://host/live?user=u&pass=p`); anonymous RTMP clients
 * cannot connect. That is why it is an option, off by default.
 *
 * State: challenges given and not yet answered, at most `maxPending` (a flood of step-2 connects
 * cannot grow it; beyond it a challenge is refused and counted), each good for CHALLENGE_TTL_MS and
 * once. The response is compared in constant time. Who the user is and what the user may do are the
 * Authorizer's (`verifyAdobe`, then `admitUser` at publish/play, with the same rights as RTSP).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import {
  ADOBE_AUTHMOD,
  ADOBE_AUTH_FAILED,
  ADOBE_NEED_AUTH,
  adobeChallengeDescription,
  adobeResponse,
  isAdobeSafeValue,
  parseAdobeConnectParams,
} from '../flv/adobe-auth.js';
import type { Authorizer } from '../server/auth.js';

/** Long enough for a client's reconnect (ffmpeg: a few ms; a loaded encoder: seconds). */
export const CHALLENGE_TTL_MS = 30_000;
export const DEFAULT_MAX_PENDING_CHALLENGES = 1024;

/** What a connect gets. */
export type AdobeVerdict =
  /** Go on; `user` is who answered the challenge (undefined: credentials will come in the query). */
  | { kind: 'accept'; user: string | undefined }
  /** `_error` with this description, then close (counted under `reason`). */
  | { kind: 'reject'; description: string; reason: 'auth_challenge' | 'unauthorized' | 'challenges_full' };

/** Challenges given and not answered yet: bounded, each used once. */
export class AdobeChallenges {
  /** challenge → who it was for, until when (insertion order is age order). */
  private readonly pending = new Map<string, { user: string; expiresMs: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly maxPending: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** A new challenge for `user`, or undefined when `maxPending` unexpired ones are out. */
  issue(user: string): string | undefined {
    const now = this.clock.monotonicMs();
    for (const [c, p] of this.pending) {
      if (p.expiresMs > now) break;
      this.pending.delete(c);
    }
    if (this.pending.size >= this.maxPending) return undefined;
    const challenge = randomBytes(12).toString('base64url');
    this.pending.set(challenge, { user, expiresMs: now + CHALLENGE_TTL_MS });
    return challenge;
  }

  /** Takes the challenge (once): whether it was given to `user` and is still good. */
  take(challenge: string, user: string): boolean {
    const p = this.pending.get(challenge);
    if (p === undefined) return false;
    this.pending.delete(challenge);
    return p.user === user && p.expiresMs > this.clock.monotonicMs();
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // The length of a base64 md5 is public (24); only equal lengths are compared, in constant time.
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The verdict on a connect whose app is `app` (its query holds the Adobe keys), from `ip`. */
export function adobeConnectVerdict(
  app: string,
  ip: string,
  authorizer: Authorizer,
  challenges: AdobeChallenges,
): AdobeVerdict {
  const q = app.indexOf('?');
  const query = q < 0 ? '' : app.slice(q + 1);
  const params = new URLSearchParams(query);
  if (params.get('user') !== null && params.get('pass') !== null) return { kind: 'accept', user: undefined };
  const a = parseAdobeConnectParams(query);
  if (a.authmod !== ADOBE_AUTHMOD || a.user === undefined)
    return { kind: 'reject', description: ADOBE_NEED_AUTH, reason: 'auth_challenge' };
  const failed: AdobeVerdict = { kind: 'reject', description: ADOBE_AUTH_FAILED, reason: 'unauthorized' };
  if (!isAdobeSafeValue(a.user)) return failed;
  if (a.response === undefined) {
    const challenge = challenges.issue(a.user);
    if (challenge === undefined) return { ...failed, reason: 'challenges_full' };
    return {
      kind: 'reject',
      description: adobeChallengeDescription(a.user, authorizer.adobeSalt, challenge),
      reason: 'auth_challenge',
    };
  }
  const { opaque, clientChallenge, response } = a;
  if (opaque === undefined || clientChallenge === undefined || !challenges.take(opaque, a.user))
    return failed;
  const ok = authorizer.verifyAdobe(
    a.user,
    (key) => sameText(adobeResponse(key, opaque, clientChallenge), response),
    ip,
  );
  return ok ? { kind: 'accept', user: a.user } : failed;
}
