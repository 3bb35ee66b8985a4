// A small typed event emitter, and the change listeners behind subscribe() (useSyncExternalStore).
import type { Unsubscribe } from "./types.js";

type Handler = (event: never) => void;

export class Emitter<Events> {
  private handlers = new Map<string, Set<Handler>>();
  private listeners = new Set<() => void>();

  on<K extends keyof Events & string>(type: K, handler: (event: Events[K]) => void): Unsubscribe {
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    const h = handler as Handler;
    set.add(h);
    return () => {
      set.delete(h);
    };
  }

  /** Call every handler of `type`; one that throws does not stop the others (nor the client). */
  emit<K extends keyof Events & string>(type: K, event: Events[K]): void {
    const set = this.handlers.get(type);
    if (!set) return;
    for (const handler of Array.from(set)) {
      try {
        (handler as (event: Events[K]) => void)(event);
      } catch (error) {
        reportLater(error);
      }
    }
  }

  subscribe(listener: () => void): Unsubscribe {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  notify(): void {
    for (const listener of Array.from(this.listeners)) {
      try {
        listener();
      } catch (error) {
        reportLater(error);
      }
    }
  }

  clear(): void {
    this.handlers.clear();
    this.listeners.clear();
  }
}

/** A handler's exception surfaces (the console, window.onerror) without breaking the client. */
function reportLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  }, 0);
}
