import type { Socket } from "node:net";
import type { Logger } from "../../core/log.js";

/**
 * Counts TCP connections, in all and per remote address. A connection past either cap is marked
 * as refused when it opens: its first request gets 503 and its upgrade a WebSocket closed with
 * 1013 (both say "try again later"); one that sends nothing is dropped after a second. Behind a
 * reverse proxy every client shares the proxy's address: raise `maxConnectionsPerIp` there
 * (X-Forwarded-For is not trusted for this, since any client can send it).
 */
export class ConnectionLimiter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();
  private readonly refused = new WeakSet<Socket>();
  /** Refused only for its address's cap: a verified node (one address, many clients) is let in. */
  private readonly addressOnly = new WeakSet<Socket>();
  private refusedSinceLog = 0;
  private lastLog = 0;

  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
    private readonly log: Logger,
  ) {}

  /**
   * Counts a new connection and marks it refused when it is past a cap. Until its first request
   * (or upgrade) arrives, it must speak within `silentMs`: Node's headersTimeout only counts
   * from the first byte, so a connection that never sends one would otherwise stay forever.
   * Node's own socket-timeout handler destroys it; the server clears the timer on a request.
   */
  admit(socket: Socket, silentMs: number): void {
    const address = socket.remoteAddress ?? "unknown";
    const n = (this.perAddress.get(address) ?? 0) + 1;
    this.perAddress.set(address, n);
    this.total++;
    socket.once("close", () => this.release(address));
    if (this.total <= this.max && n <= this.maxPerAddress) {
      socket.setTimeout(silentMs);
      return;
    }
    this.refused.add(socket);
    if (this.total <= this.max) this.addressOnly.add(socket);
    socket.setTimeout(1000);
    this.noteRefusal(address, n);
  }

  /**
   * Whether this connection was past a cap when it opened. Another node of the cluster
   * (`fromNode`, its signature verified) forwards many clients from one address, so only the
   * global cap applies to it.
   */
  isRefused(socket: Socket | null | undefined, fromNode = false): boolean {
    if (socket == null || !this.refused.has(socket)) return false;
    return !(fromNode && this.addressOnly.has(socket));
  }

  get open(): number {
    return this.total;
  }

  private release(address: string): void {
    this.total--;
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, n);
  }

  /** One log line a second at most: a flood must not become a flood of log lines. */
  private noteRefusal(address: string, n: number): void {
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastLog < 1000) return;
    this.log.error(
      "PH_ERR_CONNECTION_LIMIT",
      `refused ${this.refusedSinceLog} connection(s): ${this.total} open (maxConnections ${this.max}), ${n} from ${address} (maxConnectionsPerIp ${this.maxPerAddress})`,
      { address },
    );
    this.refusedSinceLog = 0;
    this.lastLog = now;
  }
}
