import { useLive } from '../hooks/live';
import { Badge } from './format';

/** Every event as it is received and as it completes or fails, newest first (the last 50). */
export function LivePanel() {
  const { items, state } = useLive();
  return (
    <aside id="live" class="live" aria-labelledby="live-title">
      <h2 id="live-title">
        Live{' '}
        <span id="live-state" class={`live-state${state.on ? ' on' : ''}`} role="status">
          {state.text}
        </span>
      </h2>
      <ol id="live-list" class="live-list" aria-live="polite" aria-relevant="additions">
        {items.map(({ key, at, event }) => (
          <li key={key}>
            <span class="mono muted">{at.toTimeString().slice(0, 8)}</span>
            <Badge status={event.status} />
            <a href={`/ui/events/${event.id}`}>#{event.id}</a>
            <span class="what">{`${event.source} · ${event.topic} · attempts ${event.attempts}`}</span>
          </li>
        ))}
      </ol>
      {items.length === 0 ? <p class="muted">Events appear here as they are received and finished.</p> : null}
    </aside>
  );
}
