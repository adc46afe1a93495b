import type { DeliveryLog, NewDeliveryAttempt } from '../store/deliveries';
import type { DeliveredEvent } from '../worker/handlers';
import type { Transform } from '../transform/types';
import { transformInput, transformationError, type TransformRunner } from './transforming';
import { withheldForMask } from '../transform/masked-error';
import { readTextPrefix } from '../http/bounded-body';
import { parseRetryAfter } from '../http/retry-after';
import { buildEnvelope } from './envelope';
import { redactUrls } from './redact';
import { deliveryHeaders, standardWebhooksHeaders } from './sign';
import { traceHeaders, withSpan } from '../tracing/spans';
import type { Destination, ForwardingPlan } from './destinations';
import { DEFAULT_CIRCUIT, type Gate, type Protection } from './protection';
import { confirmDestination, type ReadDestinationStates } from './confirm';

// One attempt's HTTP posts to a source's pending destinations (src/deliver/destinations.ts decides
// which are pending and what the attempt's outcome is).

const ERROR_EXCERPT = 300;
/** Most of a fetch error's text looked at (it is redacted, then cut to the excerpt). */
const REDACTION_WINDOW = 4 * 1024;

type Held = {
  name: string;
  reason: Extract<Gate, { pass: false }>['reason'] | 'paused' | 'changed';
  recheckMs: number;
};
type Failed = { destination: string; error: string; retryAfterMs?: number; permanent?: boolean };

/**
 * Posts the event to each destination its gate lets through, all at once — the envelope, or what
 * the destination's transformation computes from it — and returns the ones that failed and the
 * ones held (circuit open, rate limited, or answering 410 Gone). A transformation that fails is
 * recorded as a failed delivery (`transformation_failed: …`) and marked permanent; it is computed
 * before the gate, so it spends no rate-limit slot and no half-open probe.
 */
export async function postToDestinations(
  event: DeliveredEvent,
  pending: readonly Destination[],
  plan: ForwardingPlan,
  deliveries: DeliveryLog,
  doFetch: typeof fetch,
  signal: AbortSignal,
  run: TransformRunner,
  protection: Protection | undefined,
  storedStates?: ReadDestinationStates,
): Promise<{ failed: Failed[]; held: Held[] }> {
  if (pending.length === 0) return { failed: [], held: [] };
  const envelope = buildEnvelope(event, plan);
  let input: string | undefined;
  const bodyFor = async (transform: Transform | undefined) => {
    if (!transform) return { ok: true as const, body: envelope };
    input ??= transformInput(event);
    return run(transform, input);
  };
  // Stable across retries so the receiver can deduplicate on webhook-id.
  const messageId = `evt_${event.id}`;

  const results = await Promise.all(
    // One span per call, carried to the destination as `traceparent`; the host, never the URL (it may hold a token).
    pending.map((destination) =>
      withSpan(
        `deliver ${destination.name}`,
        'client',
        {
          'webhook.destination': destination.name,
          'webhook.event_id': event.id,
          'http.request.method': 'POST',
          'server.address': new URL(destination.url).hostname,
        },
        async (
          span,
        ): Promise<{
          destination: string;
          error: string | null;
          retryAfterMs?: number;
          permanent?: boolean;
          held?: Held;
        }> => {
          let startedAt = new Date();
          const ruleVersion = destination.ruleVersion ?? null;
          // This destination's row in the delivery log, timed from `startedAt` (reset before the POST).
          const record = (outcome: NewDeliveryAttempt['outcome'], httpStatus: number | null, error: string | null) =>
            deliveries.record({
              eventId: event.id,
              eventReceivedAt: event.receivedAt,
              attempt: event.attempt,
              destination: destination.name,
              startedAt,
              durationMs: Date.now() - startedAt.getTime(),
              outcome,
              httpStatus,
              error,
              ruleVersion,
            });
          const computed = await bodyFor(destination.transform);
          if (!computed.ok) {
            const error = transformationError(withheldForMask(computed, plan.masksPayload ?? false));
            await record('failed', null, error);
            span.fail('transformation_failed');
            return { destination: destination.name, error, retryAfterMs: undefined, permanent: true };
          }
          const body = computed.body;
          const gate: Gate = protection ? await protection.gate(destination) : { pass: true, probe: false };
          if (!gate.pass) {
            span.setAttribute('webhook.held', gate.reason);
            return { destination: destination.name, error: null, held: { name: destination.name, ...gate } };
          }
          // The last wait before the POST: a destination deleted, paused or changed since the plan gets nothing.
          const confirmed = await confirmDestination(destination, storedStates);
          if (!confirmed.post) {
            span.setAttribute('webhook.held', confirmed.held ? confirmed.reason : 'deleted');
            if (!confirmed.held) return { destination: destination.name, error: null };
            const { reason, recheckMs } = confirmed;
            return { destination: destination.name, error: null, held: { name: destination.name, reason, recheckMs } };
          }
          startedAt = new Date();
          let httpStatus: number | null = null;
          let error: string | null = null;
          let retryAfterMs: number | undefined;
          // Before any text is stored, shown or logged: a URL's credentials never leave this function.
          // Redacted before the excerpt is cut, so no credential is cut in half at its end.
          const safe = (text: string) =>
            excerpt(redactUrls(text, { url: destination.url, headers: destination.headers }));
          try {
            const response = await doFetch(destination.url, {
              method: 'POST',
              body,
              redirect: 'manual',
              signal: AbortSignal.any([signal, AbortSignal.timeout(destination.timeoutMs)]),
              headers: deliveryHeaders(destination.headers, {
                'content-type': 'application/json',
                'user-agent': 'webhook-gateway',
                ...standardWebhooksHeaders(destination.secret, messageId, body, startedAt),
                ...traceHeaders(),
              }),
            });
            httpStatus = response.status;
            if (response.status < 200 || response.status >= 300) {
              // At most a few KiB of the answer are read; the rest is cancelled, never downloaded.
              const answer =
                response.status >= 300 && response.status < 400
                  ? notFollowed(response)
                  : plan.masksPayload
                    ? withheldAnswer(response)
                    : safe(await readTextPrefix(response));
              const retryAfter = response.headers.get('retry-after');
              retryAfterMs = parseRetryAfter(retryAfter);
              // Said in the attempt, so an operator sees why the receiver's pause was not kept.
              const ignored = retryAfter?.trim() && retryAfterMs === undefined ? ` (${RETRY_AFTER_IGNORED})` : '';
              error = `HTTP ${response.status}: ${answer}${ignored}`;
            } else {
              // The answer's content does not matter; release the connection without reading it.
              void response.body?.cancel().catch(() => {});
            }
          } catch (err) {
            error = safe(describeFetchError(err, destination.timeoutMs));
          }
          // Aborted by the worker's shutdown: says nothing about the endpoint.
          const verdict = signal.aborted ? 'reachable' : await protection?.report(destination, httpStatus, gate.probe);
          const gone = verdict === 'gone';
          await record(
            error === null ? 'delivered' : gone ? 'held' : 'failed',
            httpStatus,
            gone ? `${error} (destination paused: gone)` : error,
          );
          if (httpStatus !== null) span.setAttribute('http.response.status_code', httpStatus);
          if (error !== null) span.fail(httpStatus === null ? 'no_answer' : `http_${httpStatus}`);
          // A 410 is held like a pause: not a failure, not counted; a resume releases it. Looked at
          // again after the cooldown: a file destination (not pausable) is probed then. A failed probe
          // is the endpoint's failure, already known, not the event's: held, not counted either.
          const recheckMs = (destination.circuit ?? DEFAULT_CIRCUIT).cooldownSeconds * 1000;
          if (gone)
            return {
              destination: destination.name,
              error: null,
              held: { name: destination.name, reason: 'gone', recheckMs },
            };
          if (gate.probe && verdict === 'failure')
            return {
              destination: destination.name,
              error: null,
              held: { name: destination.name, reason: 'circuit_open', recheckMs },
            };
          return { destination: destination.name, error, retryAfterMs, permanent: false };
        },
      ),
    ),
  );

  return {
    failed: results.flatMap((r) =>
      r.error === null
        ? []
        : [{ destination: r.destination, error: r.error, retryAfterMs: r.retryAfterMs, permanent: r.permanent }],
    ),
    held: results.flatMap((r) => (r.held ? [r.held] : [])),
  };
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return err.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : 'aborted: worker shutting down';
  }
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err instanceof Error ? err.message : String(err)}${cause}`.slice(0, REDACTION_WINDOW);
}

/**
 * A destination's error answer for a source that masks payload fields: receivers commonly echo the
 * request in it (`{"error": "invalid card", "received": {...}}`), so it cannot be told free of a
 * masked value, and it is stored where viewers read it (last_error, the delivery list, the worker
 * log). Its status is kept; the body is not read.
 */
function withheldAnswer(response: Response): string {
  // Not awaited: some streams settle the cancel only when their producer ends.
  void response.body?.cancel().catch(() => {});
  return ANSWER_WITHHELD;
}

/**
 * A 3xx's error: a redirect is never followed (docs/security.md, outbound requests), and its body,
 * usually empty or a "Moved" page, left the error reading `HTTP 302: ` with nothing said. The
 * Location is not quoted: it is the receiver's text and may carry a token of its own.
 */
function notFollowed(response: Response): string {
  void response.body?.cancel().catch(() => {});
  return 'redirect not followed (deliveries go to the configured URL only; set the URL it points to)';
}

const RETRY_AFTER_IGNORED = 'Retry-After ignored: neither delay-seconds nor an HTTP-date; retried on the usual backoff';

const ANSWER_WITHHELD = 'answer withheld: this source masks payload fields (docs/security.md)';

const excerpt = (text: string) => (text.length > ERROR_EXCERPT ? `${text.slice(0, ERROR_EXCERPT)}…` : text);
