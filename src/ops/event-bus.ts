import { EventEmitter } from 'node:events';
import type { EventNotification } from '../worker/notifications';

/**
 * Fans the database's event notifications out to every live-stream subscriber in this process:
 * one LISTEN connection, however many viewers.
 */
export function createEventBus() {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    publish(event: EventNotification) {
      emitter.emit('event', event);
    },
    subscribe(listener: (event: EventNotification) => void): () => void {
      emitter.on('event', listener);
      return () => emitter.off('event', listener);
    },
    get subscribers() {
      return emitter.listenerCount('event');
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
