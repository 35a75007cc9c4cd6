/**
 * The open connections of one room: who is in it, by id, and the operations over all of them
 * (broadcast, getConnection/getConnections, closing every socket). Sends go through the room's
 * output gate; a broadcast builds its message once and hands the same object to every member,
 * whose adapter frames it once for all its sockets (see outgoing.ts).
 */
import type { PartyConnection } from "./connection.js";
import { Outgoing } from "./outgoing.js";
import type { OutputGate } from "./output-gate.js";
import { copyMessage, toWire } from "./socket-base.js";
import { ReadyState } from "./socket.js";
import type { Connection, WSMessage } from "./types.js";

export class ConnectionSet {
  readonly #byId = new Map<string, PartyConnection>();

  constructor(private readonly outbox: OutputGate) {}

  get size(): number {
    return this.#byId.size;
  }

  /** Joins the room; a newer socket with the same `?_pk=` id takes the older one's place. */
  add(conn: PartyConnection): void {
    this.#byId.set(conn.id, conn);
  }

  /** Leaves the room, unless a newer connection with the same id took its place. */
  forget(conn: PartyConnection): void {
    if (this.#byId.get(conn.id) === conn) this.#byId.delete(conn.id);
  }

  values(): IterableIterator<PartyConnection> {
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
  *open(tag?: string): IterableIterator<Connection> {
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
      conn.accepted = false;
      conn.pending = null;
      conn.closeNow(code, reason);
    }
    this.#byId.clear();
  }
}

function sendTo(
  members: Iterable<PartyConnection>,
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
