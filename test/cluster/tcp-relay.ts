/**
 * A TCP relay for the cluster tests: listens on `host` (port 0) and pipes every connection to
 * `target`. It gives a test two things a direct connection cannot: an address of its own (the
 * partition test gives each node's database link one, on a veth it can take down), and a stall,
 * where traffic stops without any socket closing, as on a link that silently drops packets. A
 * stalled connection keeps what it received and delivers it, in order, once released.
 */
import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";

interface Pipe {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Chunks held while stalled, each with the socket it goes to. */
  readonly held: Array<{ to: Socket; data: Buffer }>;
  stalled: boolean;
}

export class TcpRelay {
  readonly #pipes = new Set<Pipe>();
  #stallNew = false;

  readonly #server: Server;
  #port = 0;

  private constructor(
    /** The address clients connect to, with `port`. */
    readonly host: string,
    target: { host: string; port: number },
  ) {
    this.#server = createServer((client) => this.#accept(client, target));
  }

  get port(): number {
    return this.#port;
  }

  /** Listens on `host`, port 0, relaying to `target`. */
  static async listen(host: string, target: { host: string; port: number }): Promise<TcpRelay> {
    const relay = new TcpRelay(host, target);
    await new Promise<void>((resolve, reject) => {
      relay.#server.once("error", reject);
      relay.#server.listen(0, host, () => resolve());
    });
    const address = relay.#server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    relay.#port = address.port;
    return relay;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#pipes.size;
  }

  /** Every connection open now, and every one opened from now on, stops forwarding. */
  stall(): void {
    this.#stallNew = true;
    for (const pipe of this.#pipes) pipe.stalled = true;
  }

  /**
   * Connections opened from now on forward again; the ones stalled so far stay stalled (a
   * renewal that hangs on a dead connection while the pool opens a fresh one).
   */
  flowNew(): void {
    this.#stallNew = false;
  }

  /**
   * Delivers what the stalled connections held, and lets them forward again. Returns how many
   * bytes clients had sent into them while stalled.
   */
  releaseStalled(): number {
    let bytes = 0;
    for (const pipe of this.#pipes) {
      if (!pipe.stalled) continue;
      pipe.stalled = false;
      for (const { to, data } of pipe.held.splice(0)) {
        if (to === pipe.upstream) bytes += data.length;
        if (!to.destroyed) to.write(data);
      }
    }
    return bytes;
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    for (const pipe of this.#pipes) {
      pipe.client.destroy();
      pipe.upstream.destroy();
    }
    this.#pipes.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, target: { host: string; port: number }): void {
    const upstream = createConnection(target);
    const pipe: Pipe = { client, upstream, held: [], stalled: this.#stallNew };
    this.#pipes.add(pipe);
    const forward = (to: Socket) => (data: Buffer) => {
      if (pipe.stalled) pipe.held.push({ to, data });
      else to.write(data);
    };
    client.on("data", forward(upstream));
    upstream.on("data", forward(client));
    // Either side going away takes the other with it (a stall holds data, not closes: a client
    // that gives up on a stalled connection must not leave its upstream half open).
    const done = () => {
      client.destroy();
      upstream.destroy();
      this.#pipes.delete(pipe);
    };
    for (const socket of [client, upstream]) {
      socket.on("error", done);
      socket.on("close", done);
      socket.on("end", done);
    }
  }
}
