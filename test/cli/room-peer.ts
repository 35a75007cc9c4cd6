/**
 * A `ws` client of one room for the multi-process tests (cluster nodes, workers, partitions): it
 * keeps every message and how it closed, and finds the room's `hello` greeting (the fixtures'
 * parties send `{ type: "hello", pid, ... }` on connect, naming the process that serves them).
 */
import WebSocket from "ws";
import { waitFor } from "../helpers.js";

export interface Hello {
  type: "hello";
  pid: number;
  instance: string;
  starts: number;
}

export class RoomPeer {
  readonly messages: string[] = [];
  readonly closed: Promise<number>;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => this.messages.push(String(d)));
    this.closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  }

  /**
   * Opens a socket to `room` of the main party at `baseUrl`; rejects if the upgrade is refused.
   * Gives up on a handshake after 3 s, as real clients do (partysocket: 4 s): a node forwarding
   * to a paused owner waits for it.
   */
  static open(baseUrl: string, room: string): Promise<RoomPeer> {
    const ws = new WebSocket(`${baseUrl.replace("http", "ws")}/parties/main/${room}`, {
      handshakeTimeout: 3000,
    });
    const peer = new RoomPeer(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(peer));
      ws.once("unexpected-response", (_req, res) => {
        ws.terminate();
        reject(new Error(`upgrade refused: ${res.statusCode}`));
      });
      ws.once("error", (e) => {
        ws.terminate();
        reject(e);
      });
    });
  }

  /** The room's greeting (messages that are not JSON are skipped). */
  async hello(): Promise<Hello> {
    const found = await waitFor(
      () =>
        this.messages
          .map((m) => (m.startsWith("{") ? (JSON.parse(m) as Partial<Hello>) : null))
          .find((m) => m?.type === "hello"),
      10_000,
      "hello",
    );
    return found as Hello;
  }
}
