/**
 * A source's own `max_body_bytes` above INGEST_BODY_BUDGET_BYTES: a body of that size never fits in
 * the budget, so it would be refused 503 ingest_busy on every retry, for ever — the source's limit
 * would promise what the gateway cannot take (as MAX_BODY_BYTES above the budget, src/config/env/web.ts).
 */
export function sourceBodyLimitProblem(maxBodyBytes: number | undefined, budgetBytes: number): string | undefined {
  if (maxBodyBytes === undefined || maxBodyBytes <= budgetBytes) return undefined;
  return (
    `max_body_bytes (${maxBodyBytes}) must not exceed INGEST_BODY_BUDGET_BYTES (${budgetBytes}): ` +
    'a body of that size never fits in the ingest body budget and would be refused with 503 on every retry; ' +
    'lower max_body_bytes or raise INGEST_BODY_BUDGET_BYTES'
  );
}
