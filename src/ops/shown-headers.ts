/** Header names whose values are never shown, whatever a provider module decided to keep. */
const SENSITIVE_HEADER = /authorization|cookie|signature|hmac|token|secret|api-key|password/i;

export const REDACTED_HEADER = '[redacted]';

/**
 * An event's kept headers as the ops API shows them anywhere (event detail, conflicts, the live
 * stream's `include=request`): the values of sensitive ones replaced by "[redacted]".
 */
export const shownHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, SENSITIVE_HEADER.test(name) ? REDACTED_HEADER : value]),
  );
