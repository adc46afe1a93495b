import type { Context } from 'hono';
import type { InboundRequest } from '../../providers';
import { withDeadline } from './deadline';
import { readBodyOrIncomplete } from './incomplete-body';
import { checkIdentity, checkNonce, normaliseIdentity } from './identity-limits';
import { answerInsert, insertFailure } from './insert-answer';
import { sourceRateLimited, type TokenBucket } from './rate-limit';
import { storedHeaders } from './request-headers';
import { storedRequestTarget } from './request-target';
import type { IngestDeps } from './routes';
import type { PushSource } from './sources';
import { verificationInput } from './verification';

/**
 * The last step of an ingest request: reads the body, verifies it with the source's provider,
 * identifies the event, spends the source's rate limit, then inserts it and answers after the commit.
 */
export function verifyAndStore(deps: IngestDeps, bucketFor: (source: PushSource) => TokenBucket | undefined) {
  return async (c: Context) => {
    const source = c.get('pushSource');
    const { head, secrets } = verificationInput(c, deps.logger);
    const rawBody = Buffer.from(await readBodyOrIncomplete(c, () => c.req.arrayBuffer()));
    c.set('rawBody', rawBody);
    const { headers, path, query } = head;
    const request: InboundRequest = { ...head, rawBody };

    const verification = await source.provider.verify(request, secrets);
    c.set('verified', true);
    const identity = normaliseIdentity(source.provider.identify(request, verification));
    checkIdentity(identity);
    checkNonce(verification.nonce);
    // Only verified requests spend the source's tokens: nobody without a credential can use them up.
    const wait = bucketFor(source)?.take() ?? 0;
    if (wait > 0) throw sourceRateLimited(source.name, source.rateLimit!, wait);

    const kept = storedHeaders(source.provider.keptHeaders, headers);
    let result;
    try {
      result = await withDeadline(
        deps.writeTimeoutMs,
        deps.store.insert({
          source: source.name,
          webhookId: identity.webhookId,
          topic: identity.topic,
          account: identity.account,
          body: rawBody,
          headers: kept,
          maxAttempts: source.maxAttempts ?? deps.maxAttempts,
          nonce: verification.nonce?.value,
          requestTarget: storedRequestTarget(path, query, source.provider.credentialQueryParams),
          // Computed once, here, from the request as received (docs/ordering.md).
          ordering: source.orderingOf?.(source.provider.documentOf?.(rawBody, headers) ?? rawBody, headers),
        }),
      );
    } catch (err) {
      deps.onInsertFailed?.(err);
      throw insertFailure(err);
    }
    return answerInsert(c, deps, source, identity, verification, result);
  };
}
