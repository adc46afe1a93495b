import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/**
 * Most bytes of a configuration file (GATEWAY_CONFIG, `apply -f`). A file with hundreds of sources
 * and destinations is some hundred KiB; 4 MiB leaves room for many times that. readFileSync read
 * whatever the path held: a multi-GiB file, or /dev/zero named by mistake, was read into memory
 * until the process failed.
 */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

/** The file is larger than the caller reads; it was not read whole. */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
  }
}

/** The path names a FIFO, a device, a socket or a directory: nothing that has an end to read to. */
export class NotARegularFileError extends Error {
  override name = 'NotARegularFileError';
  constructor(readonly kind: string) {
    super(`${kind}, not a regular file`);
  }
}

// Opening a FIFO for reading waits for a writer, for ever if none comes: O_NONBLOCK makes the open
// return at once, and the FIFO is then refused below. Regular files ignore the flag (not on Windows,
// which has no FIFOs to open this way).
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * The bytes of a regular file, reading at most `maxBytes` + 1: FileTooLargeError past it, and
 * NotARegularFileError for anything else (a FIFO never ends or never starts, /dev/zero never
 * ends, a terminal waits for input). The size stat reports is checked first, and the reading still
 * stops at the limit for a file that grows meanwhile.
 */
export function readFileLimited(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new NotARegularFileError(kindOf(stats));
    if (stats.size > maxBytes) throw new FileTooLargeError(maxBytes);
    // Some files report size 0 and still hold bytes (/proc): start at 64 KiB for those.
    let buffer = Buffer.allocUnsafe(Math.min(Math.max(stats.size + 1, 64 * 1024), maxBytes + 1));
    let total = 0;
    for (;;) {
      if (total === buffer.length) {
        // It grew since the stat: read on, still within the limit.
        if (total > maxBytes) throw new FileTooLargeError(maxBytes);
        const larger = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1));
        buffer.copy(larger);
        buffer = larger;
      }
      const read = readSync(fd, buffer, total, buffer.length - total, null);
      if (read === 0) return buffer.subarray(0, total);
      total += read;
    }
  } finally {
    closeSync(fd);
  }
}

/** The file's text (UTF-8), with the limits of readFileLimited. */
export function readTextFileLimited(path: string, maxBytes = MAX_CONFIG_FILE_BYTES): string {
  return readFileLimited(path, maxBytes).toString('utf8');
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a directory';
  return 'a special file';
}
