import { z } from 'zod';

// What a field's problem says when its schema gives no message of its own. Zod's defaults ("Too big:
// expected string to have <=63 characters", "Invalid input: expected string, received undefined")
// name neither the limit in words nor what to send; these say both ("must be at most 63
// characters", "is required: a string"). A schema's own message still wins: zod asks this map only
// when the schema, its check and the parse call have none. Messages never quote the value sent (it
// may be a secret), only its JSON type and the names of unknown keys.

type RawIssue = z.core.$ZodRawIssue;

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  object: 'a JSON object',
  record: 'a JSON object',
  map: 'a JSON object',
  array: 'a list (JSON array)',
  tuple: 'a list (JSON array)',
  set: 'a list (JSON array)',
  null: 'null',
  date: 'a date',
  literal: 'a fixed value',
};

const UNITS: Record<string, [string, string]> = {
  string: ['character', 'characters'],
  array: ['item', 'items'],
  set: ['item', 'items'],
  map: ['entry', 'entries'],
  record: ['entry', 'entries'],
  file: ['byte', 'bytes'],
};

const FORMATS: Record<string, string> = {
  url: 'a URL',
  email: 'an email address',
  datetime: 'an ISO 8601 date and time with a zone, e.g. 2026-12-31T23:59:59Z',
  date: 'an ISO 8601 date, e.g. 2026-12-31',
  time: 'an ISO 8601 time, e.g. 23:59:59',
  duration: 'an ISO 8601 duration, e.g. PT5M',
  uuid: 'a UUID',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  base64: 'base64 text',
  base64url: 'base64url text',
};

/** The JSON type of a value sent, in words ("a string", "an array", "nothing"). */
function sentType(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'number') return Number.isFinite(input) ? 'a number' : String(input);
  if (typeof input === 'object') return 'an object';
  return typeof input === 'boolean' ? 'true or false' : `a ${typeof input}`;
}

const typeWords = (expected: string) => TYPE_WORDS[expected] ?? expected;
const quoted = (values: readonly unknown[]) => values.map((v) => JSON.stringify(v)).join(', ');
/** Key names sent by the client, shortened: they are echoed back, so a huge one is cut. */
const keyNames = (keys: readonly string[]) =>
  keys
    .slice(0, 5)
    .map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k))
    .join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');

function sizeMessage(issue: RawIssue & { code: 'too_big' | 'too_small' }): string {
  const big = issue.code === 'too_big';
  const bound = Number(big ? issue.maximum : issue.minimum);
  const unit = UNITS[issue.origin];
  if (unit) {
    const words = `${bound} ${bound === 1 ? unit[0] : unit[1]}`;
    if (issue.exact) return `must have exactly ${words}`;
    if (!big && bound === 1) return issue.origin === 'string' ? 'must not be empty' : `must have at least ${words}`;
    const verb = issue.origin === 'string' ? 'be' : 'have';
    return `must ${verb} ${big ? 'at most' : 'at least'} ${words}`;
  }
  const whole = issue.origin === 'int' || issue.origin === 'bigint' ? 'a whole number ' : '';
  if (issue.inclusive === false) return `must be ${whole}${big ? 'less' : 'greater'} than ${bound}`;
  return `must be ${whole}${big ? 'at most' : 'at least'} ${bound}`;
}

/** The keys an object schema takes, for "unknown key … ; allowed: …". */
function allowedKeys(issue: RawIssue): string[] {
  const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

/** The message for one issue whose schema gave none (zod's customError hook). */
export function issueMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `is required: ${typeWords(issue.expected)}`;
      return `must be ${typeWords(issue.expected)}, not ${sentType(issue.input)}`;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${quoted(issue.values)}` : `must be one of ${quoted(issue.values)}`;
    case 'too_big':
    case 'too_small':
      return sizeMessage(issue);
    case 'invalid_format': {
      const format = issue.format as string;
      if (format === 'starts_with') return `must start with ${JSON.stringify((issue as { prefix?: string }).prefix)}`;
      if (format === 'ends_with') return `must end with ${JSON.stringify((issue as { suffix?: string }).suffix)}`;
      if (format === 'includes') return `must contain ${JSON.stringify((issue as { includes?: string }).includes)}`;
      if (format === 'regex') return `must match the pattern ${String((issue as { pattern?: unknown }).pattern)}`;
      return `must be ${FORMATS[format] ?? `in the ${format} format`}`;
    }
    case 'not_multiple_of':
      return Number(issue.divisor) === 1 ? 'must be a whole number' : `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys': {
      const allowed = allowedKeys(issue);
      // A payload schema may list hundreds of properties: the first 30 say enough, and bound last_error.
      const listed = allowed.length > 30 ? `${allowed.slice(0, 30).join(', ')}, …` : allowed.join(', ');
      const known = allowed.length ? `; the keys allowed here are ${listed}` : '';
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${keyNames(issue.keys)}${known}`;
    }
    case 'invalid_key':
      return `has a key that is not allowed: ${issue.issues[0]?.message ?? 'check the key names'}`;
    case 'invalid_element':
      return `has a value that is not allowed: ${issue.issues[0]?.message ?? 'check the values'}`;
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (options?.length) return `must be one of ${quoted(options)}`;
      return unionMessage(issue.errors);
    }
    default:
      return undefined;
  }
}

/** A union none of whose forms matched: the forms' expected types, or the closest form's problem. */
function unionMessage(branches: readonly (readonly z.core.$ZodIssue[])[]): string {
  const types = branches.map((b) =>
    b.length === 1 && b[0]!.code === 'invalid_type' && !b[0]!.path.length ? b[0] : null,
  );
  if (types.length && types.every(Boolean)) {
    return `must be ${[...new Set(types.map((t) => typeWords((t as { expected: string }).expected)))].join(' or ')}`;
  }
  // The form that got furthest (its first problem is deepest) is the one the sender meant.
  const closest = [...branches].filter((b) => b.length).sort((a, b) => b[0]!.path.length - a[0]!.path.length)[0]?.[0];
  if (!closest) return 'matches none of the accepted forms';
  return closest.path.length ? `${closest.path.join('.')}: ${closest.message}` : closest.message;
}

/** Makes every zod schema of the process answer with issueMessage when it has no message of its own. */
export function useIssueMessages(): void {
  z.config({ customError: issueMessage });
}
