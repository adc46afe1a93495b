import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Most bytes of a configuration file (GATEWAY_CONFIG, `apply -f`). A file with hundreds of sources
 * and destinations is some hundred KiB; 4 MiB leaves room for many times that. readFileSync read
 * whatever the path held: a multi-GiB file, or /dev/zero named by mistake, was read into memory
 * until the process failed.
 */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

/** The file is larger than a configuration file may be; it was not read whole. */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
  }
}

/**
 * The file's text (UTF-8), reading at most `maxBytes` + 1 bytes: FileTooLargeError past it.
 * Reads until the end instead of trusting the size stat reports (0 for /dev/zero and pipes).
 */
export function readTextFileLimited(path: string, maxBytes = MAX_CONFIG_FILE_BYTES): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(maxBytes + 1);
    let total = 0;
    while (total <= maxBytes) {
      const read = readSync(fd, buffer, total, buffer.length - total, null);
      if (read === 0) return buffer.toString('utf8', 0, total);
      total += read;
    }
    throw new FileTooLargeError(maxBytes);
  } finally {
    closeSync(fd);
  }
}
