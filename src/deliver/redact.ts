/**
 * Credentials that travel in URLs, removed from error text before it is stored (delivery log,
 * last_error), shown (ops API, UI, CLI) or logged. A destination's URL can appear in an error in
 * several ways: fetch refuses a URL with user:password@ and quotes it whole; a receiver's error
 * page echoes the path and query it was called with.
 */

/** Query parameter names whose values are credentials. */
const SENSITIVE_NAME = /token|key|secret|sig|pass|pwd|auth|code|session|credential|jwt/i;
/** A value that looks like a token whatever its name: long, letters and digits mixed. */
const TOKEN_LIKE = /^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9._~%+/=-]{16,}$/;

/** `scheme://user:password@` → `scheme://[redacted]@`. Linear: no nested quantifiers. */
const USERINFO = /\b([a-z][a-z0-9+.-]{0,20}:\/\/)[^\s/?#@"'<>]{1,512}@/gi;
/** `?name=value` and `&name=value` anywhere in the text (with or without a scheme and host). */
const QUERY_PARAM = /([?&;])([^=&\s"'#<>]{0,100})=([^&\s"'#<>]{0,2048})/g;

/**
 * Redacts user info and credential-like query values in every URL or query string in `text`, and
 * every occurrence of the secret parts of `known.url` (the destination's own URL) and of
 * `known.headers` values (its configured headers: an Authorization value, or its token alone),
 * even without anything around them.
 */
export function redactUrls(
  text: string,
  known: { url?: string; headers?: Readonly<Record<string, string>> } = {},
): string {
  let redacted = text
    .replace(USERINFO, '$1[redacted]@')
    .replace(QUERY_PARAM, (whole, separator: string, name: string, value: string) =>
      value && (SENSITIVE_NAME.test(name) || TOKEN_LIKE.test(value)) ? `${separator}${name}=[redacted]` : whole,
    );
  const secrets = [...(known.url ? secretsOf(known.url) : []), ...headerSecrets(known.headers ?? {})];
  for (const secret of [...new Set(secrets)].sort((a, b) => b.length - a.length)) {
    redacted = redacted.split(secret).join('[redacted]');
  }
  return redacted;
}

/** Header values, whole and each word of 8 or more characters ("Basic <token>" → the token too). */
function headerSecrets(headers: Readonly<Record<string, string>>): string[] {
  return Object.values(headers)
    .flatMap((value) => [value, ...value.split(/\s+/).filter((word) => word.length >= 8)])
    .filter((value) => value.length >= 4);
}

/** The parts of a URL that are credentials: user, password, and sensitive or token-like query values. */
function secretsOf(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const values = [parsed.username, parsed.password];
  for (const [name, value] of parsed.searchParams) {
    if (SENSITIVE_NAME.test(name) || TOKEN_LIKE.test(value)) values.push(value, encodeURIComponent(value));
  }
  for (const value of [...values]) {
    try {
      values.push(decodeURIComponent(value));
    } catch {
      // not percent-encoded
    }
  }
  // Very short values would blank out ordinary words; the patterns above still catch them in URLs.
  return values.filter((value) => value.length >= 4);
}

/** `scheme://user:password@` at the start of a URL. */
const LEADING_USERINFO = /^([a-z][a-z0-9+.-]{0,20}:\/\/)[^/?#@]*@/i;

/**
 * A URL with every part that may be a credential replaced, whatever it is named: user info, each
 * query value (names kept: `?token=[redacted]&region=[redacted]`; a parameter without a value is
 * replaced whole) and the fragment. For whoever may see where events go but not how they
 * authenticate (destination views for roles below admin).
 */
export function redactUrlSecrets(url: string): string {
  const hash = url.indexOf('#');
  const beforeHash = hash === -1 ? url : url.slice(0, hash);
  const question = beforeHash.indexOf('?');
  const base = (question === -1 ? beforeHash : beforeHash.slice(0, question)).replace(
    LEADING_USERINFO,
    '$1[redacted]@',
  );
  const query =
    question === -1
      ? ''
      : `?${beforeHash
          .slice(question + 1)
          .split('&')
          .map((part) =>
            part === '' ? part : part.includes('=') ? `${part.slice(0, part.indexOf('='))}=[redacted]` : '[redacted]',
          )
          .join('&')}`;
  return `${base}${query}${hash === -1 ? '' : '#[redacted]'}`;
}
