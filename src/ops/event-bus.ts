import { EventEmitter } from 'node:events';
import type { EventNotification } from '../worker/notifications';
import type { StreamWatchers } from './stream-watchers';

/**
 * Fans the database's event notifications out to every live-stream subscriber in this process:
 * one LISTEN connection, however many viewers. Each subscriber counts as a viewer for `watchers`,
 * so outcomes are announced while it is subscribed.
 */
export function createEventBus(watchers?: Pick<StreamWatchers, 'watch' | 'written'>) {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(event: EventNotification) {
      emitter.emit('event', event);
    },
    subscribe(listener: (event: EventNotification) => void): () => void {
      const release = watchers?.watch();
      emitter.on('event', listener);
      return () => {
        emitter.off('event', listener);
        release?.();
      };
    },
    /**
     * Resolves once this process's viewers are registered for every process to see: a stream says
     * `ready` only then, so outcomes written by other processes' workers after it are announced.
     */
    registered(): Promise<void> {
      return watchers?.written() ?? Promise.resolve();
    },
    get subscribers() {
      return emitter.listenerCount('event');
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
