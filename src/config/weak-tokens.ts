/** Below this many characters a token is guessable; `openssl rand -hex 32` gives 64. */
export const MIN_TOKEN_LENGTH = 16;
/** Fewer distinct characters than this (`aaaaaaaaaaaaaaaa`, `abababab…`) is a pattern, not a random value. */
const MIN_DISTINCT_CHARACTERS = 8;

/**
 * Start-up warnings for ops and metrics tokens short or repetitive enough to guess: the quick
 * start's `ops-token` is fine on a laptop and an open door on a reachable gateway. Warned, never
 * refused, so an installation running with one still starts. The token itself is never named:
 * its variable and position in the comma-separated list are.
 */
export function weakTokenWarnings(tokens: { OPS_API_TOKEN: readonly string[]; METRICS_TOKEN: readonly string[] }) {
  return Object.entries(tokens).flatMap(([variable, values]) =>
    values.flatMap((token, index) => {
      const which = values.length > 1 ? `${variable} (token ${index + 1} of ${values.length})` : variable;
      const problem =
        token.length < MIN_TOKEN_LENGTH
          ? `is ${token.length} characters`
          : new Set(token).size < MIN_DISTINCT_CHARACTERS
            ? `repeats a few characters (${new Set(token).size} different ones)`
            : undefined;
      return problem
        ? [
            `${which} ${problem}: anyone who can reach the gateway could guess it. Use a long random value, ` +
              `e.g. ${variable}=$(openssl rand -hex 32) (docs/security.md#ops-api-tokens-and-roles).`,
          ]
        : [];
    }),
  );
}
