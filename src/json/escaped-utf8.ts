const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** U+FFFD and the byte's two upper-case hex digits, for every byte value. */
const ESCAPES = Array.from({ length: 256 }, (_, b) => `\uFFFD${b.toString(16).toUpperCase().padStart(2, '0')}`);

/**
 * Bytes as text, without losing any: valid UTF-8 exactly as it decodes (a BOM is kept), so text
 * read from it (an id, a topic) is what it always was. In anything else, each byte that is not part
 * of a well-formed sequence becomes U+FFFD followed by its two hex digits (0xFF: "\uFFFDFF"), and
 * so does each byte of a well-formed U+FFFD: every U+FFFD in such a text is followed by the byte it
 * stands for, and the text maps back to exactly the bytes. A lossy decoding (Buffer#toString) writes
 * a bare U+FFFD for invalid bytes: ids that differed only there became one dedupe key, and the
 * second event was answered `conflict` instead of being stored.
 */
export function decodeUtf8Reversibly(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return escapeInvalidUtf8(bytes);
  }
}

/** Bytes that are not valid UTF-8 as text, escaped as decodeUtf8Reversibly says. */
function escapeInvalidUtf8(bytes: Uint8Array): string {
  let text = '';
  let decodedTo = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length > 0 && !isReplacementCharacter(bytes, i, length)) {
      i += length;
      continue;
    }
    text += utf8.decode(bytes.subarray(decodedTo, i));
    const end = i + Math.max(length, 1);
    for (; i < end; i++) text += ESCAPES[bytes[i]!]!;
    decodedTo = i;
  }
  return text + utf8.decode(bytes.subarray(decodedTo));
}

/**
 * Length of the well-formed UTF-8 sequence starting at `i`, or 0 when none starts there (the
 * Unicode Standard's table 3-7: no overlong forms, no surrogates, nothing beyond U+10FFFF).
 */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!;
  if (lead < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    else if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    else if (lead === 0xf4) high = 0x8f;
  } else return 0;
  if (i + length > bytes.length) return 0;
  const second = bytes[i + 1]!;
  if (second < low || second > high) return 0;
  for (let k = 2; k < length; k++) {
    const next = bytes[i + k]!;
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}

const isReplacementCharacter = (bytes: Uint8Array, i: number, length: number) =>
  length === 3 && bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd;
