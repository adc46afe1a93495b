import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../src/config/env';

// docs/configuration.md promises every environment variable "with its default": its table and the
// schema that parses them (src/config/env/*.ts) must name the same variables, with the same
// defaults. No database, no process.

const DOC = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');

/** The table's rows: variable name → its Default cell. */
const documented = new Map<string, string>(
  DOC.split('\n').flatMap((line) => {
    const row = /^\| `([A-Z0-9_]+)` \| ([^|]*) \|/.exec(line);
    return row?.[1] && row[2] !== undefined ? [[row[1], row[2].trim()] as const] : [];
  }),
);

/** Defaults the table words rather than writes as the parsed value, with why. */
const WORDED: Record<string, string> = {
  // 0 in the schema means the sustained rate, rounded up (src/config/env/web.ts webSettings: Math.ceil).
  RATE_LIMIT_BURST: '= rate, rounded up',
  UNVERIFIED_RATE_LIMIT_BURST: '= rate, rounded up',
  // Unset means 64 MiB or MAX_BODY_BYTES, whichever is larger (webSettings).
  INGEST_BODY_BUDGET_BYTES: '`67108864`, or `MAX_BODY_BYTES` when larger',
};

/** What the Default cell should say for a variable whose schema default is `value`. */
function expectedCell(value: unknown): string {
  if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return '—';
  return `\`${String(value)}\``;
}

describe('docs/configuration.md and the environment schema', () => {
  const variables = Object.keys(envSchema.shape);

  it('documents every variable the gateway reads', () => {
    expect(variables.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('documents no variable the gateway does not read', () => {
    expect([...documented.keys()].filter((name) => !variables.includes(name))).toEqual([]);
  });

  it('gives each variable the default the schema applies', () => {
    const wrong = variables.flatMap((name) => {
      const cell = documented.get(name);
      if (cell === undefined) return [];
      if (name in WORDED) return cell === WORDED[name] ? [] : [{ name, cell, expected: WORDED[name] }];
      const parsed = envSchema.shape[name as keyof typeof envSchema.shape].safeParse(undefined);
      const expected = expectedCell(parsed.success ? parsed.data : undefined);
      // The cell may explain the value after it: `0` (off), — (no listener).
      return cell === expected || cell.startsWith(`${expected} `) ? [] : [{ name, cell, expected }];
    });
    expect(wrong).toEqual([]);
  });
});
