/**
 * Paths added through the API, each fed by an MP4 played in a loop (Mp4LoopSource), as the config's
 * `paths` are. The API owns the sources it opened: it stops them when their path is removed or the
 * API closes, and drops a path whose source ended by itself (end of a non-looping file, read error),
 * so that its name is free again.
 */
import type { Logger } from '../base/logger.js';
import type { EngineAccess } from '../server/view.js';
import type { Stream } from '../media/stream.js';
import { Mp4LoopSource } from '../sources/mp4-loop.js';

export type AddResult = { ok: true } | { ok: false; reason: 'taken' | 'unreadable'; message: string };

export class FilePaths {
  private readonly sources = new Map<string, { source: Mp4LoopSource; stream: Stream }>();
  /** Names being opened: a second request for the same name is refused at once. */
  private readonly opening = new Set<string>();

  constructor(
    private readonly engine: EngineAccess,
    private readonly logger: Logger,
  ) {}

  owns(name: string): boolean {
    return this.sources.has(name);
  }

  async add(name: string, file: string, loop: boolean): Promise<AddResult> {
    const taken: AddResult = { ok: false, reason: 'taken', message: `path ${name} already exists` };
    if (this.opening.has(name) || this.engine.feed(name) !== undefined) return taken;
    this.opening.add(name);
    let source: Mp4LoopSource;
    try {
      source = await Mp4LoopSource.open({ file, loop, clock: this.engine.clock, logger: this.logger });
    } catch (e) {
      return { ok: false, reason: 'unreadable', message: (e as Error).message };
    } finally {
      this.opening.delete(name);
    }
    const stream = this.engine.addSourcePath(name, source.media);
    if (stream === false) {
      await source.stop();
      return taken;
    }
    source.start(stream);
    this.sources.set(name, { source, stream });
    this.logger.info({ path: name, file }, 'file source added through the api');
    return { ok: true };
  }

  /**
   * Removes a file-fed path: ours (the source is stopped) or one an embedding program fed through
   * RtspServer.addSourcePath. The config's paths never get here (ApiServerOptions.configOwner: 409).
   */
  async remove(name: string, reason = 'removed through the api'): Promise<void> {
    const ours = this.sources.get(name);
    this.sources.delete(name);
    // Only the path our source feeds: the name may have been freed and claimed again meanwhile.
    this.engine.removeSourcePath(name, reason, ours?.stream);
    await ours?.source.stop();
  }

  /** Drops our paths whose stream has ended or that someone else removed. Called every second. */
  reap(): void {
    for (const [name, { stream }] of [...this.sources]) {
      if (stream.ended || !this.engine.feeds(name, stream)) void this.remove(name, 'source ended');
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.sources.keys()].map((name) => this.remove(name, 'api closing')));
  }
}
