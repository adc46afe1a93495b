/** JSON text embedded as is, byte for byte, by `objectJson` (never parsed and re-serialised). */
export class RawJson {
  constructor(readonly text: string) {}
}

/**
 * Serialises an object member by member, in order: RawJson members verbatim, the others with
 * JSON.stringify. Members whose value is undefined are left out, as JSON.stringify does. Only the
 * top level may hold RawJson; the caller guarantees its text is one valid JSON value.
 */
export function objectJson(members: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(members)) {
    const text = value instanceof RawJson ? value.text : JSON.stringify(value);
    if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}
