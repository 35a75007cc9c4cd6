import { PartyhouseError } from "./errors.js";
import { createMemorySocketPair } from "./memory-socket.js";
import type { Parties, Stub, StubSocket } from "./types.js";

/** What a stub needs from the host: direct access to a room, skipping onBefore* as PartyKit does. */
export interface StubTarget {
  origin(): string;
  roomRequest(party: string, room: string, request: Request): Promise<Response>;
  roomConnect(
    party: string,
    room: string,
    request: Request,
    pair: ReturnType<typeof createMemorySocketPair>,
  ): void;
  onListenerError(e: unknown): void;
}

function splitArgs(
  pathOrInit: string | RequestInit | Request | undefined,
  maybeInit: RequestInit | Request | undefined,
): { path: string; init: RequestInit | undefined } {
  if (typeof pathOrInit === "string") {
    if (!pathOrInit.startsWith("/")) {
      throw new PartyhouseError("PH_ERR_STUB", "Path must start with /");
    }
    return { path: pathOrInit, init: maybeInit as RequestInit | undefined };
  }
  return { path: "", init: pathOrInit as RequestInit | undefined };
}

function stubFor(target: StubTarget, party: string, room: string): Stub {
  const url = (path: string) => `${target.origin()}/parties/${party}/${room}${path}`;
  const openSocket = (path: string, init: RequestInit | undefined): StubSocket => {
    const headers = new Headers(init?.headers);
    headers.set("upgrade", "websocket");
    const request = new Request(url(path), { ...init, headers, body: undefined, method: "GET" });
    const pair = createMemorySocketPair(target.onListenerError);
    target.roomConnect(party, room, request, pair);
    return pair.client;
  };
  return {
    fetch(pathOrInit, maybeInit) {
      try {
        if (pathOrInit instanceof Request) {
          const u = new URL(pathOrInit.url);
          return target.roomRequest(
            party,
            room,
            new Request(url(u.pathname + u.search), pathOrInit),
          );
        }
        const { path, init } = splitArgs(pathOrInit, maybeInit);
        return target.roomRequest(party, room, new Request(url(path), init));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    connect() {
      return openSocket("", undefined);
    },
    async socket(pathOrInit, maybeInit) {
      const { path, init } = splitArgs(pathOrInit, maybeInit);
      return openSocket(path, init);
    },
  };
}

/** `room.context.parties`: one entry per configured party, each with get(id). */
export function createParties(target: StubTarget, names: Iterable<string>): Parties {
  const parties: Parties = {};
  for (const name of names) {
    parties[name] = { get: (id: string) => stubFor(target, name, id) };
  }
  return parties;
}
