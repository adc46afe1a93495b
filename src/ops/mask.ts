export const MASK = '[masked]';

/**
 * Returns a copy of parsed JSON with the values at the given dotted paths replaced by "[masked]".
 * A `*` segment matches every key of an object or every element of an array
 * ("customer.email", "line_items.*.price", "*.card.number"). Missing paths are ignored.
 */
export function maskPaths(value: unknown, paths: readonly string[]): unknown {
  if (paths.length === 0) return value;
  const copy = structuredClone(value);
  for (const path of paths) maskAt(copy, path.split('.'));
  return copy;
}

function maskAt(node: unknown, segments: string[]): void {
  if (typeof node !== 'object' || node === null || segments.length === 0) return;
  const [head, ...rest] = segments as [string, ...string[]];
  const container = node as Record<string, unknown>;
  const keys = head === '*' ? Object.keys(container) : Object.hasOwn(container, head) ? [head] : [];
  for (const key of keys) {
    if (rest.length === 0) container[key] = MASK;
    else maskAt(container[key], rest);
  }
}
