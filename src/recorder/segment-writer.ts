/**
 * Appends a segment's parts to its file, off the media path: `write` queues the bytes and returns at
 * once; one write at a time goes to the disk, in order. Each part is one `write` call (prft + moof + mdat
 * together), and nothing is fsync'ed: a crash of the process loses nothing that was written (the kernel
 * has it), a crash of the machine what the kernel had not flushed, and a file cut anywhere stays readable
 * up to its last whole part. An fsync per part would cost a disk flush per second per path for a
 * guarantee only power loss needs.
 *
 * The queue is bounded in bytes: a disk slower than the stream drops parts (counted by the caller) rather
 * than piling up memory. The first write error stops the writer; the caller decides what follows.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export class SegmentWriter {
  readonly file: string;
  /** Bytes the disk has accepted. */
  bytesWritten = 0;
  /** Bytes queued and not yet written. */
  queuedBytes = 0;
  /** Set at the first error: what went wrong (writes are refused from then on). */
  error: NodeJS.ErrnoException | Error | undefined;

  readonly #maxQueueBytes: number;
  readonly #queue: { bytes: Buffer; written: (() => void) | undefined }[] = [];
  readonly #onError: (err: Error) => void;
  readonly #onWritten: (bytes: number) => void;
  #handle: Promise<FileHandle | undefined>;
  #draining: Promise<void> | undefined;
  #closed = false;

  constructor(
    file: string,
    options: { maxQueueBytes: number; onError: (err: Error) => void; onWritten?: (bytes: number) => void },
  ) {
    this.file = file;
    this.#maxQueueBytes = options.maxQueueBytes;
    this.#onError = options.onError;
    this.#onWritten = options.onWritten ?? (() => undefined);
    // 'wx': never append to (or clobber) a file of another run; names carry microseconds.
    this.#handle = mkdir(dirname(file), { recursive: true })
      .then(() => open(file, 'wx'))
      .catch((err: unknown) => {
        this.#fail(err);
        return undefined;
      });
  }

  /**
   * Queues `bytes` (one whole part, or the init segment) to be appended; `written` is called once the
   * disk has them. False when refused: the queue
   * would pass its byte cap (unless it is empty: one part always fits), or the writer failed or closed.
   */
  write(bytes: Buffer, written?: () => void): boolean {
    if (this.error !== undefined || this.#closed) return false;
    if (this.queuedBytes > 0 && this.queuedBytes + bytes.length > this.#maxQueueBytes) return false;
    this.#queue.push({ bytes, written });
    this.queuedBytes += bytes.length;
    this.#draining ??= this.#drain();
    return true;
  }

  /** Writes what is queued, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#draining;
    const handle = await this.#handle;
    this.#handle = Promise.resolve(undefined);
    await handle?.close().catch((err: unknown) => {
      this.#fail(err);
    });
  }

  async #drain(): Promise<void> {
    const handle = await this.#handle;
    while (this.#queue.length > 0 && this.error === undefined && handle !== undefined) {
      const { bytes, written } = this.#queue.shift()!;
      try {
        let at = 0;
        while (at < bytes.length) {
          const { bytesWritten } = await handle.write(bytes, at, bytes.length - at);
          at += bytesWritten;
        }
        this.bytesWritten += bytes.length;
        this.#onWritten(bytes.length);
        written?.();
      } catch (err) {
        this.#fail(err);
      }
      this.queuedBytes -= bytes.length;
    }
    this.#queue.length = 0;
    this.queuedBytes = 0;
    this.#draining = undefined;
  }

  #fail(err: unknown): void {
    if (this.error !== undefined) return;
    this.error = err instanceof Error ? err : new Error(String(err));
    this.#onError(this.error);
  }
}
