/**
 * A ByteSource (see container/mp4/reader.ts) over a file on disk, for the MP4 reader and the file
 * sources. Reads are positional (`pread`), so concurrent reads are safe; each returns a fresh Buffer
 * the caller may keep. The size is taken once at open: a file that shrinks afterwards yields short
 * reads, which the MP4 reader reports as MP4_TRUNCATED.
 */
import { open } from 'node:fs/promises';
import type { ByteSource } from '../container/mp4/reader.js';

export interface FileByteSource extends ByteSource {
  readonly path: string;
  read(offset: number, length: number): Promise<Buffer>;
  /** Closes the file; later reads reject. Idempotent. */
  close(): Promise<void>;
}

/** Opens `path` for reading. Rejects with the fs error (ENOENT, EISDIR, EACCES ...) when it cannot. */
export async function fileByteSource(path: string): Promise<FileByteSource> {
  const handle = await open(path, 'r');
  let size: number;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${path} is not a regular file`);
    size = st.size;
  } catch (e) {
    await handle.close();
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    path,
    size,
    async read(offset: number, length: number): Promise<Buffer> {
      if (closed !== undefined) throw new Error(`${path}: read after close`);
      const buf = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buf, filled, length - filled, offset + filled);
        if (bytesRead === 0) break; // end of file
        filled += bytesRead;
      }
      return filled === length ? buf : buf.subarray(0, filled);
    },
    close(): Promise<void> {
      closed ??= handle.close();
      return closed;
    },
  };
}
