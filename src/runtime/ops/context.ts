/**
 * Which party and room the code running now belongs to, so that what a party writes with
 * `console.*` can be logged with them. Set around each HTTP request and each WebSocket event the
 * Node server hands to a room; code that runs later from those (awaits, timers) keeps it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { format } from "node:util";
import { matchPartyPath, pathnameOf } from "../../core/wire/router.js";

export interface RoomContext {
  party: string;
  room: string;
  /** The connection id (`?_pk=`), for WebSocket events. */
  connection?: string;
}

export const roomContext = new AsyncLocalStorage<RoomContext>();

/** The party and room a request URL (path and query, or absolute) names, if any. */
export function contextOf(url: string): RoomContext | undefined {
  const route = matchPartyPath(pathnameOf(url));
  if (route === null) return undefined;
  const pk = /[?&]_pk=([^&#]*)/.exec(url)?.[1];
  return { party: route.party, room: route.room, ...(pk ? { connection: pk } : {}) };
}

type Level = "debug" | "info" | "warn" | "error";
const METHODS: ReadonlyArray<[keyof Console, Level]> = [
  ["log", "info"],
  ["info", "info"],
  ["debug", "debug"],
  ["trace", "debug"],
  ["warn", "warn"],
  ["error", "error"],
];

/**
 * Replaces `console.log/info/debug/warn/error` with JSON log lines (`source: "console"`, with
 * party, room and connection when known), for `partyhouse start`. Returns the undo.
 */
export function captureConsole(write: (line: string) => void): () => void {
  const saved = new Map<keyof Console, unknown>();
  for (const [name, level] of METHODS) {
    saved.set(name, console[name]);
    (console as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      write(
        JSON.stringify({
          time: new Date().toISOString(),
          level,
          source: "console",
          message: format(...args),
          ...roomContext.getStore(),
        }),
      );
    };
  }
  return () => {
    for (const [name, fn] of saved) (console as unknown as Record<string, unknown>)[name] = fn;
  };
}
