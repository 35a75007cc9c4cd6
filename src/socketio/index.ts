/**
 * `partyhouse/socket.io`: Socket.IO backends per room, in the style of PartyKit's Party.IO.
 * See the README's Socket.IO section for the routing rules and what differs from a standalone server.
 */
export { createServer } from "./server.js";
export type {
  SocketIOOptions,
  SocketIOParty,
  SocketIOPartyClass,
  SocketIOSetup,
} from "./server.js";
export { DEFAULT_SOCKETIO_ROOM } from "./marker.js";
export type {
  BroadcastOperator,
  DefaultEventsMap,
  DisconnectReason,
  ExtendedError,
  Namespace,
  RemoteSocket,
  Server,
  Socket,
} from "socket.io";
