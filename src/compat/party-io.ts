/**
 * What `import { createServer } from "party.io"` resolves to when a project has no build of
 * PartyKit's Party.IO package (it was never published to npm): Party.IO's `createServer` on top
 * of partyhouse's Socket.IO parties, so such an app runs with both transports (WebSocket and
 * HTTP long-polling), one real Socket.IO server per `partyId`.
 *
 * Differences from Party.IO, which runs a Socket.IO server per request in the stateless worker:
 * `setup(io, req, lobby, ctx)` runs once per room, before its first client, and `req` is a
 * request naming that room (`/socket.io/?partyId=<room>`), not a client's.
 */
import type { IncomingMessage } from "node:http";
import type { Namespace, Server as IOServer, ServerOptions } from "socket.io";
import { toWebRequest } from "../adapters/node/request.js";
import { writeWebResponse } from "../adapters/node/response.js";
import type { RawRequest as NodeRawRequest } from "../raw-party.js";
import { PartyhouseError } from "../core/errors.js";
import { RAW_HANDLER } from "../raw-party.js";
import type {
  Connection,
  ExecutionContext,
  FetchLobby,
  Request as PartyRequest,
  Room,
  WSMessage,
} from "../core/types.js";
import { classify } from "../socketio/local-path.js";
import { SOCKETIO_PARTY } from "../socketio/marker.js";
import type { SocketIOPartyInfo } from "../socketio/marker.js";
import { createServer as createSocketIOParty } from "../socketio/server.js";
import type { SocketIOParty } from "../socketio/server.js";

export type { Socket } from "socket.io";

/** Party.IO's options: Socket.IO's and Engine.IO's, without `adapter` (the platform's). */
export type PartyIOServerOptions = Omit<Partial<ServerOptions>, "adapter">;

/** Party.IO's setup callback. */
export type PartyIOSetup = (
  io: IOServer,
  req: PartyRequest,
  lobby: FetchLobby,
  ctx: ExecutionContext,
) => void | Promise<void>;

/** The instance side of a Party.IO party, as Party.IO's class has it. */
export interface PartyIOParty extends SocketIOParty {
  onMessage(message: WSMessage, sender: Connection): void | Promise<void>;
  onRequest(req: PartyRequest): Response | Promise<Response>;
}

export interface PartyIOPartyClass {
  new (room: Room): PartyIOParty;
}

/**
 * Party.IO's adapter publishes through a room of the party named `nsp-<-partyId><namespace>`
 * (`nsp--lobby-` for "/" of `?partyId=lobby`) and keeps one connection to it per Socket.IO
 * server, which on PartyKit means one per client; apps read `adapter.partyName` and count that
 * room's connections (PartyKit's socket.io-chat example shows its user count that way). The
 * broadcasts need no relay here, but the room and its connections are kept the same: one party
 * connection per connected client of the namespace.
 */
function companionRooms(nsp: Namespace, room: Room): void {
  const partyName = `nsp--${room.id}${nsp.name.replaceAll("/", "-")}`;
  (nsp.adapter as unknown as { partyName?: string }).partyName = partyName;
  const party = room.context.parties[room.name];
  if (party === undefined) return;
  nsp.on(
    "connection",
    (socket: { disconnected: boolean; once(e: "disconnect", fn: () => void): void }) => {
      party
        .get(partyName)
        .socket()
        .then((conn) => {
          if (socket.disconnected) conn.close();
          else socket.once("disconnect", () => conn.close());
        })
        .catch((e: unknown) =>
          console.error(
            `PH_ERR_HANDLER party.io companion room ${partyName}: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
    },
  );
}

function lobbyOf(room: Room): FetchLobby {
  return {
    env: room.env,
    parties: room.context.parties,
    assets: room.context.assets,
    ai: room.context.ai,
    vectorize: room.context.vectorize,
    analytics: room.analytics,
    bindings: room.context.bindings,
  };
}

const executionContext: ExecutionContext = {
  waitUntil(promise) {
    promise.catch((e: unknown) =>
      console.error(`PH_ERR_HANDLER waitUntil: ${e instanceof Error ? e.message : String(e)}`),
    );
  },
  passThroughOnException() {},
};

/**
 * Party.IO's `createServer(opts?, setup)`: the default export of a party whose rooms each run a
 * Socket.IO server.
 *
 * @example
 * import { createServer } from "party.io";
 *
 * export default createServer((io) => {
 *   io.on("connection", (socket) => socket.emit("hello", "world"));
 * });
 */
export function createServer(
  opts: PartyIOServerOptions | PartyIOSetup,
  ioSetup?: PartyIOSetup,
): PartyIOPartyClass {
  const setup = typeof opts === "function" ? opts : ioSetup;
  const options = typeof opts === "function" ? {} : opts;
  if (typeof setup !== "function") {
    throw new PartyhouseError(
      "PH_ERR_SOCKETIO_OPTIONS",
      'party.io createServer needs a setup function: createServer((io, req, lobby, ctx) => { io.on("connection", …) })',
    );
  }
  const Base = createSocketIOParty(options, (io, room) => {
    companionRooms(io.of("/"), room);
    io.on("new_namespace", (nsp: Namespace) => companionRooms(nsp, room));
    const url = `http://localhost/socket.io/?partyId=${encodeURIComponent(room.id)}`;
    return setup(io, new Request(url) as PartyRequest, lobbyOf(room), executionContext);
  });
  const info = (Base as unknown as Record<symbol, SocketIOPartyInfo>)[SOCKETIO_PARTY]!;
  const baseRaw = Base.prototype[RAW_HANDLER] as (kind: string, raw: unknown) => void;

  class PartyIORoom extends (Base as unknown as new (room: Room) => SocketIOParty) {
    /** Party.IO relays a message from a party connection to every other one. */
    onMessage(message: WSMessage): void {
      this.room.broadcast(message);
    }

    /** Party.IO's room answers `POST …/count` with its number of party connections. */
    onRequest(req: PartyRequest): Response | Promise<Response> {
      if (req.method === "POST" && new URL(req.url).pathname.endsWith("/count")) {
        let count = 0;
        for (const _ of this.room.getConnections()) count++;
        return new Response(String(count), { status: 200 });
      }
      return new Response("not found", { status: 404 });
    }

    /** Socket.IO's paths go to the engine; any other HTTP request of the room to onRequest. */
    [RAW_HANDLER](kind: "request" | "upgrade", raw: unknown): void {
      const req = (raw as { req?: IncomingMessage }).req;
      if (kind === "request" && req && classify(req.url ?? "/", info).kind === "none") {
        void this.answer(raw as NodeRawRequest);
        return;
      }
      baseRaw.call(this, kind, raw);
    }

    private async answer({ req, res }: NodeRawRequest): Promise<void> {
      try {
        const response = await this.onRequest(toWebRequest(req) as PartyRequest);
        await writeWebResponse(res, response, req.method === "HEAD");
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        console.error(`PH_ERR_ON_REQUEST party.io onRequest: ${message}`);
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end(message);
        } else res.destroy();
      }
    }
  }
  // The Socket.IO markers (SOCKETIO_PARTY, RAW_HANDLER) are statics of Base, inherited.
  return PartyIORoom as unknown as PartyIOPartyClass;
}
