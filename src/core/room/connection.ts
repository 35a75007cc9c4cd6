import { PartyhouseError } from "../errors.js";
import type { OutputGate } from "./output-gate.js";
import { SocketBase, copyMessage } from "../wire/socket-base.js";
import type { SocketHooks } from "../wire/socket-base.js";
import type { RawSocket } from "../wire/socket.js";
import type { Connection, ConnectionSetStateFn, ConnectionState, WSMessage } from "../api/types.js";

/** How a connection's state is copied and measured when the room hibernates. */
export interface StatePolicy {
  /** true in hibernating rooms: state is cloned and size-limited as Cloudflare attachments are. */
  clone: boolean;
  maxBytes: number;
  measure(value: unknown): number;
}

const NO_TAGS: readonly string[] = Object.freeze([]);

export const ConnectionPhase = { CONNECTING: 0, OPEN: 1, DONE: 2 } as const;
export type ConnectionPhase = (typeof ConnectionPhase)[keyof typeof ConnectionPhase];

/** A queued socket event, delivered once the connection's onConnect has finished. */
export type ConnectionEvent =
  | { type: "message"; data: string | ArrayBuffer }
  | { type: "close"; code: number; reason: string; wasClean: boolean }
  | { type: "error"; error: Error };

/**
 * A WebSocket connected to a room. Its id, uri, state and tags live here (not in the party
 * instance), so they survive when a hibernating room's instance is dropped.
 */
export class RoomConnection<TState = unknown> extends SocketBase implements Connection<TState> {
  readonly id: string;
  readonly uri: string;
  tags: readonly string[] = NO_TAGS;
  /**
   * CONNECTING until onConnect returned (events queue in `pending`), then OPEN (only an open
   * connection reaches onMessage/onClose/onError), DONE once it failed to connect, errored (on
   * workerd a failed socket reports onError and nothing after it) or its room was reset.
   */
  phase: ConnectionPhase = ConnectionPhase.CONNECTING;
  private stateValue: unknown = null;
  /** Events that arrived while CONNECTING, delivered in order once OPEN. */
  pending: ConnectionEvent[] = [];
  /** Size of the queued messages (bytes; UTF-16 units for text); -1 once over the limit. */
  pendingBytes = 0;

  constructor(
    raw: RawSocket,
    hooks: SocketHooks,
    id: string,
    uri: string,
    /** Shared by every connection of a room (two policies per host), not one object each. */
    public statePolicy: StatePolicy,
    /** The room's output gate: sends and closes wait behind writes that are not durable yet. */
    private readonly outbox: OutputGate,
  ) {
    super(raw, hooks);
    this.id = id;
    this.uri = uri;
  }

  override send(data: WSMessage): void {
    if (this.outbox.open) {
      super.send(data);
      return;
    }
    const copy = copyMessage(data);
    this.outbox.run(() => super.send(copy));
  }

  /** @internal sends past the output gate (a broadcast the gate already released). */
  sendNow(data: WSMessage): void {
    super.send(data);
  }

  /** A close is an outgoing message too: it must not overtake what the gate holds. */
  override close(code?: number, reason?: string): void {
    if (this.outbox.open) {
      super.close(code, reason);
      return;
    }
    this.outbox.run(() => super.close(code, reason));
  }

  /** @internal closes past the output gate (shutdown, reset). */
  closeNow(code?: number, reason?: string): void {
    super.close(code, reason);
  }

  get socket(): Connection<TState> {
    return this;
  }
  get url(): string {
    return this.uri;
  }

  get state(): ConnectionState<TState> {
    return this.stateValue as ConnectionState<TState>;
  }

  setState(state: TState | ConnectionSetStateFn<TState> | null): ConnectionState<TState> {
    const next =
      typeof state === "function"
        ? (state as ConnectionSetStateFn<TState>)(this.state)
        : (state as TState | null);
    this.stateValue = this.statePolicy.clone ? this.cloneState(next) : next;
    return this.stateValue as ConnectionState<TState>;
  }

  serializeAttachment<T = unknown>(attachment: T): void {
    this.setState(attachment as unknown as TState);
  }

  deserializeAttachment<T = unknown>(): T | null {
    return (this.stateValue ?? null) as T | null;
  }

  /**
   * PartyKit keeps a hibernating connection's state in its Cloudflare attachment, next to the id
   * and uri, and the limit applies to that whole attachment: we measure the same shape, and say
   * what workerd says, so a state fits here exactly when it fits there.
   */
  private cloneState(value: unknown): unknown {
    if (value === null || value === undefined) return null;
    let size: number;
    try {
      size = this.statePolicy.measure({ __pk: { id: this.id, uri: this.uri }, __user: value });
    } catch (e) {
      throw new PartyhouseError("PH_ERR_STATE_CLONE", e instanceof Error ? e.message : String(e));
    }
    if (size > this.statePolicy.maxBytes) {
      throw new PartyhouseError(
        "PH_ERR_STATE_TOO_LARGE",
        // workerd's words, missing space included
        `A WebSocket 'attachment' cannot be larger than ${this.statePolicy.maxBytes} bytes.` +
          `'attachment' was ${size} bytes.`,
      );
    }
    return structuredClone(value);
  }
}
