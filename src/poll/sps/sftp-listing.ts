import type SftpClient from 'ssh2-sftp-client';

/** ssh2's SFTP session, as ssh2-sftp-client's connect() hands it out. */
type SFTPWrapper = Awaited<ReturnType<SftpClient['connect']>>;

/** What a listing keeps of one entry (the long name and other attributes are dropped at once). */
export interface ListedEntry {
  name: string;
  /** First character of `ls -l`'s mode: `-` for a plain file, `d` for a folder. */
  type: string;
  size: number;
}

/**
 * Longest name kept whole. Names past 255 characters are refused anyway (remote-path.ts), and the
 * refusal quotes only the first 120; a kept name stays over 255, so it is still refused.
 */
const MAX_KEPT_NAME = 1024;

/** SSH_FX_EOF: the server has no more entries for this handle. */
const STATUS_EOF = 1;

/**
 * Reads a remote folder one READDIR answer at a time (an answer is one SFTP packet, at most
 * 256 KiB), keeping only what `keep` accepts, and stops with an error as soon as the folder has
 * more than `maxEntries` entries. ssh2-sftp-client's `list()` (and ssh2's `readdir(path)`) gather
 * the whole folder first: a server listing millions of entries, or one that never sends EOF,
 * would hold the run (and its lock) and its memory without limit.
 */
export async function readDirectoryBounded(
  sftp: SFTPWrapper,
  path: string,
  maxEntries: number,
  keep: (entry: ListedEntry) => boolean,
  /** Bounds the wait for each answer (see sftp-timeouts.ts). */
  within: <T>(request: Promise<T>, what: string) => Promise<T>,
): Promise<ListedEntry[]> {
  const handle = await within(
    new Promise<Buffer>((resolve, reject) => sftp.opendir(path, (err, h) => (err ? reject(err) : resolve(h)))),
    'OPENDIR',
  );
  const kept: ListedEntry[] = [];
  let seen = 0;
  try {
    for (;;) {
      const batch = await within(
        new Promise<{ filename: string; longname: string; attrs: { size: number } }[] | undefined>((resolve, reject) =>
          sftp.readdir(handle, (err, list) => {
            if (err && (err as { code?: unknown }).code === STATUS_EOF) resolve(undefined);
            else if (err) reject(err);
            else resolve(list);
          }),
        ),
        'READDIR',
      );
      if (!batch) return kept;
      // An empty answer counts as one entry: a server that answers with no entries and never with
      // EOF would otherwise keep the loop going forever.
      seen += Math.max(1, batch.length);
      if (seen > maxEntries) throw new TooManyEntriesError(maxEntries);
      for (const item of batch) {
        const name = item.filename.length > MAX_KEPT_NAME ? item.filename.slice(0, MAX_KEPT_NAME) : item.filename;
        const entry = { name, type: item.longname.slice(0, 1), size: item.attrs.size };
        if (keep(entry)) kept.push(entry);
      }
    }
  } finally {
    try {
      sftp.close(handle, () => {});
    } catch {
      // The connection is gone already; so is the handle.
    }
  }
}

/** The folder holds more entries than one listing may read. */
export class TooManyEntriesError extends Error {
  override name = 'TooManyEntriesError';
  constructor(readonly maxEntries: number) {
    super(`the folder holds more than ${maxEntries} entries (max_listing_entries)`);
  }
}
