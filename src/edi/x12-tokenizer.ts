import type { Segment } from './x12-values';

// X12 text → interchanges of segments, in one linear pass. Each interchange declares its own
// delimiters in its ISA header, so they are read again at every ISA: a file may hold interchanges
// with different separators and terminators. Line breaks are never X12 data (they are outside
// the basic and extended character sets), so unless an interchange uses a line break as its
// segment terminator they are dropped wherever they fall — which is what makes files wrapped at
// 80 columns readable. Replaces node-x12, which applied the first ISA's delimiters to the whole
// file (a second interchange with other terminators vanished) and refused wrapped files; on a
// 3.7 MB file it took 2.9 s where this pass (with the envelope check) took 2.3 s, both on the
// loaded 2-core dev machine. `npm run bench` checks the pass stays linear.

/** Longest element accepted (MTX02, the longest free-text element up to 008020, is 4096). */
export const MAX_ELEMENT_CHARS = 4096;
/** Most elements in one segment (the widest X12 segments have fewer than 100). */
const MAX_ELEMENTS = 256;
/** An ISA is 106 characters; wrapped, a few line breaks more. */
const MAX_ISA_CHARS = 200;

export interface Delimiters {
  element: string;
  component: string;
  /** The segment terminator; '\n' stands for any line break when segments end at line ends. */
  segment: string;
  /** ISA11 from version 00402 on; null before (ISA11 is then the standards identifier U). */
  repetition: string | null;
}

/** A segment with its place in the file (1-based), for error messages. */
export interface PositionedSegment extends Segment {
  position: number;
}

export interface TokenizedInterchange {
  delimiters: Delimiters;
  /** ISA first; IEA last unless the file ended before it (the envelope check reports that). */
  segments: PositionedSegment[];
}

/** The text is not X12 (or not complete); the message names the segment. */
export class X12SyntaxError extends Error {
  override name = 'X12SyntaxError';
}

const isLineBreak = (c: string | undefined) => c === '\n' || c === '\r';
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
const isAlphanumeric = (c: string) => /^[A-Za-z0-9]$/.test(c);
const TAG = /^[A-Z][A-Z0-9]{1,2}$/;

/** Splits the text into interchanges and segments; throws X12SyntaxError naming where it failed. */
export function tokenizeX12(text: string): TokenizedInterchange[] {
  const interchanges: TokenizedInterchange[] = [];
  let position = 0; // segments read so far, across interchanges
  let at = skipSpace(text, text.charCodeAt(0) === 0xfeff ? 1 : 0);
  while (at < text.length) {
    if (!text.startsWith('ISA', at)) {
      // DOS end-of-file marks (^Z) and NUL padding after the last IEA are not data.
      if (interchanges.length > 0 && onlyPadding(text, at)) break;
      throw new X12SyntaxError(
        interchanges.length === 0
          ? 'the file does not start with an ISA segment'
          : `after the IEA of interchange ${interchanges.length} (segment ${position}) the file continues with something other than an ISA segment`,
      );
    }
    const header = readIsa(text, at, interchanges.length + 1, ++position);
    const segments: PositionedSegment[] = [header.segment];
    const reader = segmentReader(text, header.end, header.delimiters);
    for (;;) {
      const raw = reader.next();
      if (raw === undefined) break;
      const first = segments.length === 1;
      const segment = toSegment(raw, header.delimiters, ++position, interchanges.length + 1, first);
      segments.push(segment);
      if (segment.tag === 'IEA') break;
    }
    interchanges.push({ delimiters: header.delimiters, segments });
    at = skipSpace(text, reader.offset);
  }
  if (interchanges.length === 0) throw new X12SyntaxError('the file holds no ISA segment');
  return interchanges;
}

/** Only white space, NUL and ^Z (0x1A) from `at` to the end. */
function onlyPadding(text: string, at: number): boolean {
  for (let i = at; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 0 && code !== 0x1a && !isSpace(text[i])) return false;
  }
  return true;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && isSpace(text[at])) at++;
  return at;
}

/**
 * Reads an ISA at `at`: its element separator is the character after "ISA", ISA16 (the component
 * separator) the character after the 16th separator, and the segment terminator the one after
 * that. The ISA is not required to be fixed-width (senders do pad it wrongly); line breaks inside
 * it (a wrapped file) are skipped.
 */
function readIsa(text: string, at: number, ordinal: number, position: number) {
  const where = `interchange ${ordinal}, segment ${position} (ISA)`;
  const separator = text[at + 3];
  if (separator === undefined || isAlphanumeric(separator) || isSpace(separator)) {
    throw new X12SyntaxError(`${where}: the character after "ISA" must be the element separator`);
  }
  // ISA01…ISA15 end at the 2nd…16th separators; ISA16 is the one character after the 16th.
  const elements: string[] = [];
  let current = '';
  let separators = 0;
  let i = at + 3;
  const limit = Math.min(text.length, at + MAX_ISA_CHARS);
  while (separators < 16 && i < limit) {
    const c = text[i++]!;
    if (c === separator) {
      if (separators++ > 0) elements.push(current);
      current = '';
    } else if (!isLineBreak(c)) current += c;
  }
  const component = text[i];
  const terminator = text[i + 1];
  if (separators < 16 || component === undefined || terminator === undefined) {
    throw new X12SyntaxError(`${where}: the ISA segment is incomplete (it needs 16 elements and a terminator)`);
  }
  elements.push(component);
  if (isAlphanumeric(component) || isSpace(component)) {
    throw new X12SyntaxError(`${where}: ISA16 (component separator) is missing or is a letter, digit or space`);
  }
  if (isAlphanumeric(terminator) || terminator === ' ' || terminator === separator || terminator === component) {
    throw new X12SyntaxError(`${where}: no segment terminator follows ISA16`);
  }
  if (component === separator) throw new X12SyntaxError(`${where}: ISA16 repeats the element separator`);
  const version = elements[11]!.trim();
  const isa11 = elements[10]!;
  const repetition =
    version >= '00402' && isa11.length === 1 && !isAlphanumeric(isa11) && !isSpace(isa11) ? isa11 : null;
  const lineTerminated = isLineBreak(terminator);
  let end = i + 2;
  if (terminator === '\r' && text[end] === '\n') end++;
  return {
    segment: { tag: 'ISA', elements, position },
    delimiters: { element: separator, component, segment: lineTerminated ? '\n' : terminator, repetition },
    end,
  };
}

/**
 * Yields each segment's raw text (without its terminator). Every search starts where the last one
 * ended, and the next line-break positions are remembered, so the whole file is scanned once.
 */
function segmentReader(text: string, start: number, delimiters: Delimiters) {
  let offset = start;
  let nextLf = -2;
  let nextCr = -2;
  const find = (c: string, from: number, cached: number) =>
    cached >= from || cached === -1 ? cached : text.indexOf(c, from);
  return {
    get offset() {
      return offset;
    },
    next(): string | undefined {
      offset = skipSpace(text, offset);
      if (offset >= text.length) return undefined;
      let end: number;
      let after: number;
      if (delimiters.segment === '\n') {
        nextLf = find('\n', offset, nextLf);
        nextCr = find('\r', offset, nextCr);
        const candidates = [nextLf, nextCr].filter((p) => p !== -1);
        end = candidates.length ? Math.min(...candidates) : text.length;
        after = end + (text[end] === '\r' && text[end + 1] === '\n' ? 2 : 1);
      } else {
        end = text.indexOf(delimiters.segment, offset);
        if (end === -1) end = text.length; // the last segment may lack its terminator
        after = end + 1;
      }
      const raw = text.slice(offset, end);
      offset = Math.min(after, text.length);
      if (delimiters.segment !== '\n' && (raw.includes('\n') || raw.includes('\r'))) {
        return raw.replace(/[\r\n]/g, '');
      }
      return raw;
    },
  };
}

function toSegment(
  raw: string,
  delimiters: Delimiters,
  position: number,
  ordinal: number,
  first: boolean,
): PositionedSegment {
  const elements = raw.split(delimiters.element);
  const tag = elements.shift()!;
  const where = `interchange ${ordinal}, segment ${position}`;
  if (raw.startsWith('ISA')) {
    throw new X12SyntaxError(`${where}: an ISA segment starts before an IEA closed interchange ${ordinal}`);
  }
  if (first && delimiters.segment === '\n' && raw.endsWith(delimiters.component)) {
    // "…*P*~" + line break: ISA16 is missing and the real terminator was taken for it.
    throw new X12SyntaxError(
      `${where}: segments end with ${JSON.stringify(delimiters.component)}, which the ISA declares as its component separator (ISA16): ISA16 is missing`,
    );
  }
  if (tag.length > 3 || !TAG.test(tag)) {
    throw new X12SyntaxError(
      `${where}: ${JSON.stringify(tag.slice(0, 3))}${tag.length > 3 ? '…' : ''} is not a segment ID`,
    );
  }
  if (elements.length > MAX_ELEMENTS) {
    throw new X12SyntaxError(`${where} (${tag}): more than ${MAX_ELEMENTS} elements`);
  }
  for (let n = 0; n < elements.length; n++) {
    if (elements[n]!.length > MAX_ELEMENT_CHARS) {
      throw new X12SyntaxError(
        `${where} (${tag}): element ${tag}${String(n + 1).padStart(2, '0')} is ${elements[n]!.length} characters long, over the limit of ${MAX_ELEMENT_CHARS}`,
      );
    }
  }
  return { tag, elements, position };
}
