import { usageError } from './context';

/** What --since and --until accept, for --help and the error. */
export const TIME_FORMATS =
  'an ISO 8601 time with its offset (2026-11-23T10:00:00Z), a UTC date (2026-11-23), or an age (30m, 1h, 2d, 1w)';

const AGE = /^(\d{1,9})([smhdw])$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
// The ops API's form (zod's iso.datetime with an offset); a time without an offset is refused
// rather than guessed, since UTC and the local zone would both be plausible readings.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * A --since/--until value as the ops API's ISO 8601 time. A full time is sent as typed (the
 * gateway reads every digit of its fraction); a date is its midnight UTC, as the event tables
 * print UTC; an age is that long before `now`. Anything else (words such as "yesterday", which
 * this CLI does not try to read) is a usage error that shows what works.
 */
export function parseTimeOption(flag: string, text: string, now = Date.now()): string {
  const age = AGE.exec(text);
  if (age) {
    const then = new Date(now - Number(age[1]) * UNIT_MS[age[2] as keyof typeof UNIT_MS]);
    // The gateway takes years 0001 and later; 999999999w is far before that (and before Date's range).
    if (Number.isNaN(then.getTime()) || then.getUTCFullYear() < 1)
      throw usageError(`${flag} "${text}" is too long ago: the earliest time is the year 0001`);
    return then.toISOString();
  }
  const iso = DATE.test(text) ? `${text}T00:00:00Z` : DATE_TIME.test(text) ? text : undefined;
  // Date.parse rejects 2026-13-01 and 25:00; a valid time is kept as typed.
  if (iso !== undefined && !Number.isNaN(Date.parse(iso))) return iso;
  const hint = /^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(text)
    ? ` (add its offset: ${text}Z for UTC)`
    : /^[a-z ]+$/i.test(text)
      ? ' (words are not read: 1d is a day ago)'
      : '';
  throw usageError(`${flag} "${text}" is not a time${hint}: give ${TIME_FORMATS}`);
}
