import { visit, type JSONPath } from 'jsonc-parser';

const MASK = '[masked]';
const MASK_JSON = JSON.stringify(MASK);

/**
 * Replaces the values at the given dotted paths with "[masked]" in the JSON text itself: every
 * other byte — numbers as sent, string escapes, key order, whitespace — is left exactly as it was.
 * A `*` segment matches every key of an object or every element of an array ("customer.email",
 * "line_items.*.price", "*.card.number"); a key that appears twice is masked both times. Missing
 * paths are ignored. The text must be strict JSON no deeper than MAX_JSON_DEPTH (jsonc-parser
 * recurses once per level); the caller checks both.
 */
export function maskJsonText(text: string, paths: readonly string[]): string {
  if (paths.length === 0) return text;
  const patterns = paths.map((path) => path.split('.'));
  const longest = Math.max(...patterns.map((p) => p.length));
  const matches = (path: JSONPath) =>
    patterns.some(
      (p) => p.length === path.length && p.every((segment, i) => segment === '*' || segment === String(path[i])),
    );

  const spans: Array<[start: number, end: number]> = [];
  let depth = 0; // containers open around the current token
  let maskedFrom: { depth: number; start: number } | undefined; // a masked object or array being skipped
  // A value at depth d has a path of d segments: only values no deeper than the longest pattern can match.
  const masks = (supplier: () => JSONPath) => maskedFrom === undefined && depth <= longest && matches(supplier());
  const open = (offset: number, supplier: () => JSONPath) => {
    if (masks(supplier)) maskedFrom = { depth, start: offset };
    depth++;
  };
  const close = (offset: number, length: number) => {
    depth--;
    if (maskedFrom?.depth === depth) {
      spans.push([maskedFrom.start, offset + length]);
      maskedFrom = undefined;
    }
  };
  visit(text, {
    onObjectBegin: (offset, _length, _line, _column, supplier) => open(offset, supplier),
    onArrayBegin: (offset, _length, _line, _column, supplier) => open(offset, supplier),
    onObjectEnd: close,
    onArrayEnd: close,
    onLiteralValue: (_value, offset, length, _line, _column, supplier) => {
      if (masks(supplier)) spans.push([offset, offset + length]);
    },
  });

  let result = '';
  let from = 0;
  for (const [start, end] of spans) {
    result += text.slice(from, start) + MASK_JSON;
    from = end;
  }
  return result + text.slice(from);
}
