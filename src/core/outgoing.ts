/**
 * A message a room sends to many sockets (broadcast): built once by the room, handed as is to every
 * member's adapter. Each adapter frames it its own way and may keep that frame here, so a broadcast
 * to 10,000 sockets of one adapter frames once and UTF-8 encodes text once. A leaf module.
 */
const encoder = new TextEncoder();

export class Outgoing {
  #bytes: Uint8Array | undefined;
  /** The adapter that filled `frame` (an identity it chooses), and what it stored there. */
  frameOwner: unknown = undefined;
  frame: unknown = undefined;

  constructor(
    /** Text, or the bytes of a binary message (or text already encoded). */
    readonly data: string | Uint8Array,
    readonly binary: boolean,
  ) {}

  /** The payload as bytes, text encoded once for every adapter that needs bytes. */
  get bytes(): Uint8Array {
    if (this.#bytes === undefined) {
      this.#bytes = typeof this.data === "string" ? encoder.encode(this.data) : this.data;
    }
    return this.#bytes;
  }
}
