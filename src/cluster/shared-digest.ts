/**
 * Digest state every node shares, so a client redirected to another node (302, REDIRECT, drain)
 * authenticates there with the nonce it has: the nonce key is the cluster's (redis-store.ts
 * `sharedSecret`: the first node to start sets it), and the replay memory of accepted answers
 * (RFC 7616 §3.3, qop=auth) is a Redis key per answer that expires with the nonce's lifetime.
 *
 * While Redis is unreachable this node falls back to its own memory: a replay to this node is still
 * refused, one to another node could pass during the outage (logged once per outage).
 */
import type { AnswerUse, DigestReplayMemory } from '../auth/server.js';
import { NonceCountMemory } from '../auth/server.js';
import type { Logger } from '../base/logger.js';
import { StoreUnavailableError, type ClusterStore } from './redis-store.js';

export class SharedDigestMemory implements DigestReplayMemory {
  readonly #local = new NonceCountMemory();
  #degraded = false;

  constructor(
    private readonly store: ClusterStore,
    private readonly logger: Logger,
  ) {}

  async use(
    nonce: string,
    stampMs: number,
    response: string,
    nowMs: number,
    lifetimeMs: number,
  ): Promise<AnswerUse> {
    // Also remembered here: the fallback knows what this node accepted before an outage.
    const local = this.#local.use(nonce, stampMs, response, nowMs, lifetimeMs);
    if (local === 'replay') return 'replay';
    try {
      const first = await this.store.firstUseOfAnswer(nonce, response, lifetimeMs - (nowMs - stampMs));
      if (this.#degraded) this.logger.info({}, 'cluster: Digest replay memory shared again');
      this.#degraded = false;
      return first ? 'fresh' : 'replay';
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      if (!this.#degraded)
        this.logger.warn({}, 'cluster: Redis unreachable; Digest replays checked against this node only');
      this.#degraded = true;
      return local;
    }
  }
}
