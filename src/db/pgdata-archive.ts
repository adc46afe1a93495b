import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { createGunzip, gzipSync } from 'node:zlib';

/**
 * A data directory as one gzipped tar (POSIX ustar: regular files and directories only, names up to
 * 100 bytes), written at build time and unpacked into a new DATA_DIR (src/db/pgdata-template.ts).
 * Our own few lines rather than PGlite's `loadDataDir`: PGlite unpacks through its WASM file system,
 * 2.8–3.8 s for the 40 MB of a new cluster, where node:fs writes them in 0.6–0.9 s.
 */
export interface ArchivedFile {
  /** Relative path, `/`-separated. */
  path: string;
  /** The file's bytes; none for a directory (PostgreSQL needs its empty ones: pg_tblspc, pg_notify, …). */
  data?: Buffer;
}

const BLOCK = 512;

/** Every directory and regular file under `root`, relative paths, each directory before what it holds. */
export function readTree(root: string, under = ''): ArchivedFile[] {
  const files: ArchivedFile[] = [];
  for (const name of readdirSync(join(root, under)).sort()) {
    const path = under ? `${under}/${name}` : name;
    const stat = statSync(join(root, path));
    if (stat.isDirectory()) files.push({ path }, ...readTree(root, path));
    else if (stat.isFile()) files.push({ path, data: readFileSync(join(root, path)) });
  }
  return files;
}

/** The files as a gzipped ustar archive. */
export function packArchive(files: ArchivedFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const { path, data } of files) {
    if (!data) parts.push(header(path, 0, '5'));
    else parts.push(header(path, data.length, '0'), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

function header(path: string, size: number, type: '0' | '5'): Buffer {
  if (Buffer.byteLength(path) > 100) throw new Error(`archive path over 100 bytes: ${path}`);
  const h = Buffer.alloc(BLOCK);
  h.write(path, 0);
  h.write(type === '5' ? '0000700\0' : '0000600\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\x0000', 257);
  h.write('        ', 148);
  h.write(`${checksum(h).toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const checksum = (h: Buffer) => h.reduce((sum, byte) => sum + byte, 0);

/** An archive entry, as its header describes it. */
export interface ArchiveEntry {
  path: string;
  directory: boolean;
  size: number;
}

/** What reads an archive: each entry's header, then its bytes in pieces (none for a directory). */
export interface ArchiveVisitor {
  entry(entry: ArchiveEntry): void;
  data(piece: Buffer): void;
}

/**
 * Reads a gzipped ustar archive piece by piece, checking every header's checksum and that every
 * path stays inside the directory it is unpacked into; throws on anything else. Streamed: the 40 MB
 * of a new cluster gunzipped in one buffer kept the process ~30 MB larger for its whole life.
 */
export async function readArchive(file: string, visitor: ArchiveVisitor): Promise<void> {
  const gunzip = createGunzip();
  gunzip.end(readFileSync(file));
  let header = Buffer.alloc(0);
  let remaining = 0;
  let padding = 0;
  let ended = false;
  for await (const chunk of gunzip as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < chunk.length && !ended) {
      if (remaining > 0 || padding > 0) {
        const n = Math.min(remaining > 0 ? remaining : padding, chunk.length - at);
        if (remaining > 0) {
          visitor.data(chunk.subarray(at, at + n));
          remaining -= n;
        } else padding -= n;
        at += n;
        continue;
      }
      const n = Math.min(BLOCK - header.length, chunk.length - at);
      header = Buffer.concat([header, chunk.subarray(at, at + n)]);
      at += n;
      if (header.length < BLOCK) continue;
      if (header.every((b) => b === 0)) ended = true;
      else {
        const entry = parseHeader(header);
        visitor.entry(entry);
        remaining = entry.size;
        padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
      }
      header = Buffer.alloc(0);
    }
  }
  if (!ended) throw new Error('archive is truncated');
}

function parseHeader(h: Buffer): ArchiveEntry {
  const field = (from: number, to: number) => h.toString('latin1', from, to).replace(/\0.*$/s, '').trim();
  const stored = parseInt(field(148, 156), 8);
  const blank = Buffer.from(h);
  blank.write('        ', 148);
  if (stored !== checksum(blank)) throw new Error('archive header is corrupt');
  const path = field(0, 100);
  const type = field(156, 157) || '0';
  const size = type === '5' ? 0 : parseInt(field(124, 136), 8);
  if ((type !== '0' && type !== '5') || !Number.isSafeInteger(size) || !isInside(path)) {
    throw new Error(`archive entry ${JSON.stringify(path)} is not a plain file or directory inside the directory`);
  }
  return { path, directory: type === '5', size };
}

const isInside = (path: string) => path !== '' && !path.startsWith('/') && !normalize(path).split(sep).includes('..');

/**
 * Unpacks a gzipped ustar archive under `root`, directories and files readable by their owner only;
 * the file named `last` is written after everything else (a marker: present means complete).
 */
export async function unpackArchive(file: string, root: string, last: string): Promise<void> {
  let fd: number | undefined;
  let deferred: Buffer[] | undefined;
  const lastPieces: Buffer[] = [];
  const closeCurrent = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    deferred = undefined;
  };
  try {
    await readArchive(file, {
      entry({ path, directory }) {
        closeCurrent();
        const target = join(root, path);
        if (path === last) deferred = lastPieces;
        else if (directory) mkdirSync(target, { recursive: true, mode: 0o700 });
        else {
          mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
          fd = openSync(target, 'w', 0o600);
        }
      },
      data(piece) {
        if (deferred) deferred.push(Buffer.from(piece));
        else if (fd !== undefined) writeSync(fd, piece);
      },
    });
  } finally {
    closeCurrent();
  }
  writeFileSync(join(root, last), Buffer.concat(lastPieces), { mode: 0o600 });
}
