/**
 * Longest Retry-After read, in seconds (the longest a Node timer waits); a longer one is read as
 * this: callers cap it at their own maximum anyway.
 */
const MAX_SECONDS = 2_147_483;

const DAYS = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient MAY accept.
const IMF_FIXDATE = new RegExp(`^(?:${DAYS}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
const RFC850 = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME = new RegExp(`^(?:${DAYS}) (${MONTH}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * Retry-After as delay-seconds (digits only) or an HTTP-date, in ms; undefined when absent or not
 * one of them. Date.parse was used before and read "2099", "12/31/2099" or a JavaScript date string
 * as a date, so a receiver's malformed header could postpone an event to the retry maximum.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed), MAX_SECONDS) * 1000;
  const date = parseHttpDate(trimmed, now);
  return date === undefined ? undefined : Math.min(Math.max(0, date - now), MAX_SECONDS * 1000);
}

/** An HTTP-date (RFC 9110 §5.6.7) as epoch ms; undefined for anything else, or a day that does not exist. */
export function parseHttpDate(text: string, now = Date.now()): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2]!, m[1]!, m.slice(4, 7));
  m = RFC850.exec(text);
  if (m) {
    // RFC 9110: a two-digit year more than 50 years ahead is the most recent past year so ending.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2]!, m[1]!, m.slice(4, 7));
  }
  m = ASCTIME.exec(text);
  if (m) return utc(Number(m[6]), m[1]!, m[2]!.trim(), m.slice(3, 6));
  return undefined;
}

function utc(year: number, month: string, day: string, [h, min, s]: string[]): number | undefined {
  const [hours, minutes, seconds] = [Number(h), Number(min), Number(s)];
  const monthIndex = MONTHS.indexOf(month);
  if (hours > 23 || minutes > 59 || seconds > 60) return undefined;
  const time = Date.UTC(year, monthIndex, Number(day), hours, minutes, Math.min(seconds, 59));
  // 31 Feb rolls over into March: not a date.
  return new Date(time).getUTCDate() === Number(day) ? time : undefined;
}
