import type { EventMapLike } from "./api/types.js";

type AnyListener = (event: never) => void;
interface Entry {
  fn: AnyListener;
  once: boolean;
}

/**
 * A small listener registry for WebSocket-like objects. Cheaper than EventTarget on the hot path,
 * and it never lets one listener's throw stop the others (each error goes to `onListenerError`).
 */
export class Listeners {
  private map: Map<string, Entry[]> | undefined;

  add(type: string, fn: AnyListener, once = false): void {
    this.map ??= new Map();
    const list = this.map.get(type);
    if (list === undefined) this.map.set(type, [{ fn, once }]);
    else if (!list.some((e) => e.fn === fn)) list.push({ fn, once });
  }

  remove(type: string, fn: AnyListener): void {
    const list = this.map?.get(type);
    if (list === undefined) return;
    const i = list.findIndex((e) => e.fn === fn);
    if (i >= 0) list.splice(i, 1);
  }

  has(type: string): boolean {
    const list = this.map?.get(type);
    return list !== undefined && list.length > 0;
  }

  clear(): void {
    this.map = undefined;
  }

  emit<K extends keyof EventMapLike>(
    type: K,
    event: EventMapLike[K],
    onListenerError: (e: unknown) => void,
  ): void {
    const list = this.map?.get(type);
    if (list === undefined || list.length === 0) return;
    for (const entry of [...list]) {
      if (entry.once) this.remove(type, entry.fn);
      try {
        (entry.fn as (e: EventMapLike[K]) => void)(event);
      } catch (e) {
        onListenerError(e);
      }
    }
  }
}
