import type { EventDetail } from '../../api/types';
import { parseExact, prettyJson } from '../../api/json';

/**
 * The body: pretty JSON with every number exactly as sent, or the stored text (base64 for bytes).
 * An unmasked body is printed from its stored text, so what is shown cannot differ from what was
 * received whatever the server's JSON encoder does with big numbers; a masked one from `payload`.
 */
export function Payload({ event }: { event: EventDetail }) {
  const note = event.body.masked ? <p class="muted">Fields configured as sensitive are masked.</p> : null;
  const json =
    event.payload === null
      ? undefined
      : event.body.masked || event.body.encoding !== 'utf8'
        ? event.payload
        : parseExact(event.body.data);
  if (json !== undefined)
    return (
      <>
        {note}
        <pre class="payload" tabIndex={0} aria-label="Payload (JSON)">
          {prettyJson(json)}
        </pre>
      </>
    );
  const label = event.body.encoding === 'base64' ? 'Body (not text; base64)' : 'Body (not JSON)';
  return (
    <>
      {note}
      {event.payload_unavailable ? <p class="muted">{event.payload_unavailable.message}</p> : null}
      <pre class="payload" tabIndex={0} aria-label={label}>
        {event.body.data}
      </pre>
    </>
  );
}
