/**
 * Environment variables that look like one of ours but are not (`SHOPFY_WEBHOOK_SECRET`): a typo
 * there silently leaves a source unconfigured, so start-up warns with the near match.
 */
export function nearMisses(
  names: Iterable<string>,
  known: ReadonlySet<string>,
): { name: string; suggestion: string }[] {
  const found: { name: string; suggestion: string }[] = [];
  for (const name of names) {
    // `port=8080` or `Log_Level=debug`: variables' names are case-sensitive, so ours was never set.
    if (!known.has(name) && known.has(name.toUpperCase())) {
      found.push({ name, suggestion: name.toUpperCase() });
      continue;
    }
    // Only upper-case names of a plausible length: PATH, HOME and friends are not near anything of ours.
    if (known.has(name) || name.length < 6 || name.length > 64 || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
    let best: { suggestion: string; distance: number } | undefined;
    for (const candidate of known) {
      const limit = candidate.length >= 12 ? 2 : 1;
      if (Math.abs(candidate.length - name.length) > limit) continue;
      const distance = editDistance(name, candidate, limit);
      if (distance <= limit && (!best || distance < best.distance)) best = { suggestion: candidate, distance };
    }
    if (best) found.push({ name, suggestion: best.suggestion });
  }
  return found;
}

/** Levenshtein distance with adjacent transpositions, giving up (returning limit + 1) past `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, before[j - 2]! + 1);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return limit + 1;
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
