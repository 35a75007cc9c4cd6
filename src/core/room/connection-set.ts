/**
 * The open connections of one room: who is in it, by id, and the operations over all of them
 * (broadcast, getConnection/getConnections, closing every socket, the bounded queue of messages
 * that arrive before a socket's onConnect finished). The slow-consumer rule lives in the adapter,
 * where the bytes queue (adapters/node/ws-socket.ts). Sends go through the room's
 * output gate; a broadcast builds its message once and hands the same object to every member,
 * whose adapter frames it once for all its sockets (see outgoing.ts).
 */
import { CloseCode } from "../close-codes.js";
import { ConnectionPhase } from "./connection.js";
import type { RoomConnection } from "./connection.js";
import { Outgoing } from "../wire/outgoing.js";
import type { OutputGate } from "./output-gate.js";
import type { RoomShared } from "./room-shared.js";
import { copyMessage, toWire } from "../wire/socket-base.js";
import { ReadyState } from "../wire/socket.js";
import type { Connection, WSMessage } from "../api/types.js";

export class ConnectionSet {
  readonly #byId = new Map<string, RoomConnection>();

  constructor(
    private readonly outbox: OutputGate,
    private readonly shared: Pick<RoomShared, "limits" | "log">,
    /** The room, for log lines. */
    private readonly room: { readonly id: string; readonly def: { readonly name: string } },
  ) {}

  /**
   * The early-event queue: a message that arrives while the socket's onConnect runs waits in
   * `conn.pending`, bounded by maxPendingMessages and maxPendingBytes. Past either, the queue is
   * dropped and the socket closed with 1008; its later messages are ignored. onConnect still
   * finishes, and onClose follows as for any close.
   */
  queueEarly(conn: RoomConnection, data: string | ArrayBuffer): void {
    if (conn.pendingBytes < 0) return;
    const { maxPendingMessages, maxPendingBytes } = this.shared.limits;
    conn.pendingBytes += typeof data === "string" ? data.length : data.byteLength;
    if (conn.pending.length < maxPendingMessages && conn.pendingBytes <= maxPendingBytes) {
      conn.pending.push({ type: "message", data });
      return;
    }
    const { id, def } = this.room;
    this.shared.log.error(
      "PH_ERR_PENDING_LIMIT",
      `closing connection ${conn.id} in room "${id}": over ${maxPendingMessages} messages or ${maxPendingBytes} bytes before onConnect finished`,
      { party: def.name, room: id, connection: conn.id },
    );
    conn.pendingBytes = -1;
    conn.pending.length = 0;
    conn.close(CloseCode.POLICY, "Too many messages before the connection was ready");
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Joins the room; a newer socket with the same `?_pk=` id takes the older one's place. */
  add(conn: RoomConnection): void {
    this.#byId.set(conn.id, conn);
  }

  /** Leaves the room, unless a newer connection with the same id took its place. */
  forget(conn: RoomConnection): void {
    if (this.#byId.get(conn.id) === conn) this.#byId.delete(conn.id);
  }

  values(): IterableIterator<RoomConnection> {
    return this.#byId.values();
  }

  ids(): IterableIterator<string> {
    return this.#byId.keys();
  }

  /** `room.getConnection(id)`: only an open socket. */
  get(id: string): Connection | undefined {
    const conn = this.#byId.get(id);
    return conn !== undefined && conn.readyState === ReadyState.OPEN ? conn : undefined;
  }

  /** `room.getConnections(tag?)`: open sockets, with the tag if one is given. */
  *list(tag?: string): IterableIterator<Connection> {
    for (const conn of this.#byId.values()) {
      if (conn.readyState !== ReadyState.OPEN) continue;
      if (tag === undefined || conn.tags.includes(tag)) yield conn;
    }
  }

  broadcast(msg: WSMessage, without?: string[]): void {
    if (this.#byId.size === 0) return;
    if (!this.outbox.open) {
      // Held: the members are those of now; the bytes are copied so the caller may reuse them.
      const members = [...this.#byId.values()];
      const copy = copyMessage(msg);
      this.outbox.run(() => sendTo(members, members.length, copy, without));
      return;
    }
    sendTo(this.#byId.values(), this.#byId.size, msg, without);
  }

  /** Closes every socket past the output gate (shutdown, reload, reset). */
  closeAll(code: number, reason: string): void {
    for (const conn of this.#byId.values()) conn.closeNow(code, reason);
  }

  /** Hibernation drops hand-attached listeners with the instance, as on PartyKit. */
  clearListeners(): void {
    for (const conn of this.#byId.values()) conn.clearListeners();
  }

  /** The room failed: no socket reaches a handler again; all are closed (1011) and forgotten. */
  failAll(code: number, reason: string): void {
    for (const conn of this.#byId.values()) {
      conn.phase = ConnectionPhase.DONE;
      conn.pending = [];
      conn.closeNow(code, reason);
    }
    this.#byId.clear();
  }
}

function sendTo(
  members: Iterable<RoomConnection>,
  size: number,
  msg: WSMessage,
  without: string[] | undefined,
): void {
  const skip = without !== undefined && without.length > 0 ? new Set(without) : undefined;
  if (size === 1) {
    for (const conn of members) if (!skip?.has(conn.id)) conn.sendNow(msg);
    return;
  }
  const wire = toWire(msg);
  const shared = new Outgoing(wire.data, wire.binary);
  for (const conn of members) {
    if (skip?.has(conn.id)) continue;
    conn.sendShared(shared);
  }
}
