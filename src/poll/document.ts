import { createHash } from 'node:crypto';
import type { RemoteFile } from './source';
import { looksLikeX12, parseX12, type ParsedX12 } from '../edi/x12';

/**
 * What a polled file becomes: the JSON body of its event (the raw file inside it, byte for byte,
 * plus the parsed document) and its topic. Handlers and destinations see the body as `payload`,
 * so the canonical envelope's `data` carries both.
 */
export interface PolledDocument {
  topic: string;
  body: Buffer;
  /** Set when the file looked like X12 but was refused; it is stored anyway, raw. */
  parseError?: string;
  /** The run's error code for that refusal. */
  errorCode?: 'parse_failed' | 'parse_timeout';
}

interface FileDescription {
  path: string;
  name: string;
  size: number;
  sha256: string;
  /** utf8 when the bytes are valid UTF-8 (X12 and XML are), otherwise base64. */
  encoding: 'utf8' | 'base64';
  content: string;
}

/**
 * Topics: `x12/850` for purchase orders (`x12/<set>` for other transaction sets, `x12/mixed` when a
 * file holds several kinds), `x12/invalid` when an X12 file is refused, `xml` for XML files
 * (stored raw; parse them in a handler), `file` for anything else. Runs in the parser worker
 * (document-parser.ts), never on the thread that answers webhooks.
 */
export function toPolledDocument(file: RemoteFile, bytes: Buffer, sourceKind: string): PolledDocument {
  const { base, text, utf8 } = describeFile(file, bytes, sourceKind);
  if (utf8 && looksLikeX12(text)) {
    let parsed: ParsedX12;
    try {
      parsed = parseX12(text);
    } catch (err) {
      const parseError = err instanceof Error ? err.message : String(err);
      return invalidX12(base, parseError, 'parse_failed');
    }
    return { topic: x12Topic(parsed), body: json({ ...base, format: 'x12', ...parsed }) };
  }
  if (utf8 && /^\uFEFF?\s*</.test(text)) return { topic: 'xml', body: json({ ...base, format: 'xml' }) };
  return { topic: 'file', body: json({ ...base, format: 'unknown' }) };
}

/**
 * The event of a file whose parsing did not finish (time budget spent, or the worker died): the
 * raw file only, under x12/invalid when it looks like X12 (else `file`), with the reason.
 */
export function unparsedDocument(
  file: RemoteFile,
  bytes: Buffer,
  sourceKind: string,
  reason: string,
  errorCode: NonNullable<PolledDocument['errorCode']>,
): PolledDocument {
  const { base, text, utf8 } = describeFile(file, bytes, sourceKind);
  if (utf8 && looksLikeX12(text)) return invalidX12(base, reason, errorCode);
  return {
    topic: 'file',
    body: json({ ...base, format: 'unknown', parse_error: reason }),
    parseError: reason,
    errorCode,
  };
}

function describeFile(file: RemoteFile, bytes: Buffer, sourceKind: string) {
  const text = bytes.toString('utf8');
  const utf8 = Buffer.from(text, 'utf8').equals(bytes);
  const described: FileDescription = {
    path: file.path,
    name: file.name,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    encoding: utf8 ? 'utf8' : 'base64',
    content: utf8 ? text : bytes.toString('base64'),
  };
  return { base: { source_kind: sourceKind, file: described }, text, utf8 };
}

const invalidX12 = (base: object, parseError: string, errorCode: NonNullable<PolledDocument['errorCode']>) => ({
  topic: 'x12/invalid',
  body: json({ ...base, format: 'x12', parse_error: parseError }),
  parseError,
  errorCode,
});

function x12Topic(parsed: ParsedX12): string {
  const sets = new Set([
    ...parsed.purchase_orders.map(() => '850'),
    ...parsed.other_transactions.map((t) => t.transaction_set),
  ]);
  if (sets.size === 0) return 'x12/empty';
  return sets.size === 1 ? `x12/${[...sets][0]}` : 'x12/mixed';
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
