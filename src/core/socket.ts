import type { Outgoing } from "./outgoing.js";

/**
 * The minimal socket the core drives. An adapter (node/ws, or an in-memory pair for party stubs)
 * implements `RawSocket` and reports what happens on the wire through the `SocketSink` it gets back.
 */
export interface RawSocket {
  /** Sends one message. `binary` selects the frame type; text may come pre-encoded as UTF-8. */
  send(data: string | Uint8Array, binary: boolean): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection without a closing handshake (slow consumers, shutdown deadline). */
  terminate(): void;
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly extensions: string;
  /**
   * Sends a message shared by many sockets (a broadcast). The adapter frames it once for all its
   * sockets, keeping the frame on `message` (see outgoing.ts). An adapter also enforces its own
   * send buffer bound: a socket past it is closed with 1008, which the room hears as a close.
   */
  sendShared(message: Outgoing): void;
}

/** What an adapter calls when the peer speaks. Binary data arrives as an ArrayBuffer. */
export interface SocketSink {
  message(data: string | ArrayBuffer): void;
  close(code: number, reason: string, wasClean: boolean): void;
  error(error: Error): void;
}

export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
