import { PartyhouseError } from "../errors.js";
import { createMemorySocketPair } from "../wire/memory-socket.js";
import { matchPartyPath } from "../wire/router.js";
import type { Parties, Stub, StubSocket } from "../api/types.js";

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

/**
 * The room a stub reaches. PartyKit builds the stub's URL from the name as given and the room takes
 * its id from that URL's path, so `get("a b")` is the room `a%20b`: the one a client reaches at
 * `/parties/:party/a%20b` (partysocket and browsers percent-encode the same way).
 */
function stubRoom(party: string, name: string): string {
  const route = matchPartyPath(new URL(`http://stub/parties/${party}/${name}`).pathname);
  if (route === null) throw new PartyhouseError("PH_ERR_STUB", "No room id found in request url");
  return route.room;
}

function stubFor(target: StubTarget, party: string, name: string): Stub {
  const url = (path: string) => `${target.origin()}/parties/${party}/${name}${path}`;
  let resolved: string | undefined;
  const roomOf = () => (resolved ??= stubRoom(party, name));
  const openSocket = (path: string, init: RequestInit | undefined): StubSocket => {
    const headers = new Headers(init?.headers);
    headers.set("upgrade", "websocket");
    const request = new Request(url(path), { ...init, headers, body: undefined, method: "GET" });
    const pair = createMemorySocketPair(target.onListenerError);
    target.roomConnect(party, roomOf(), request, pair);
    return pair.client;
  };
  return {
    fetch(pathOrInit, maybeInit) {
      try {
        if (pathOrInit instanceof Request) {
          const u = new URL(pathOrInit.url);
          return target.roomRequest(
            party,
            roomOf(),
            new Request(url(u.pathname + u.search), pathOrInit),
          );
        }
        const { path, init } = splitArgs(pathOrInit, maybeInit);
        return target.roomRequest(party, roomOf(), new Request(url(path), init));
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
