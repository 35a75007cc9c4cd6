import type * as Party from "partykit/server";
import { WORLD } from "./protocol";
import type { ClientMessage, Player, ServerMessage } from "./protocol";

const COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"];

/**
 * A game room: players join, move on a grid and leave. Each player's position lives in its
 * connection state, so the presence list is simply the room's open connections.
 */
export default class GameRoom implements Party.Server {
  constructor(readonly room: Party.Room) {}

  private players(): Player[] {
    return [...this.room.getConnections<Player>()].flatMap((c) =>
      c.state ? [{ ...c.state }] : [],
    );
  }

  onConnect(conn: Party.Connection<Player>, ctx: Party.ConnectionContext) {
    const name =
      new URL(ctx.request.url).searchParams.get("name")?.slice(0, 24) ||
      `player-${conn.id.slice(0, 4)}`;
    const player: Player = {
      id: conn.id,
      name,
      color: COLORS[[...conn.id].reduce((h, c) => h + c.charCodeAt(0), 0) % COLORS.length]!,
      x: Math.floor(Math.random() * WORLD.width),
      y: Math.floor(Math.random() * WORLD.height),
    };
    conn.setState(player);
    this.send(conn, { type: "welcome", you: conn.id, players: this.players() });
    this.broadcast({ type: "joined", player }, [conn.id]);
  }

  onMessage(raw: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection<Player>) {
    if (typeof raw !== "string" || !sender.state) return;
    let msg: ClientMessage;
    try {
      msg = JSON.parse(raw) as ClientMessage;
    } catch {
      return;
    }
    if (msg.type === "move") {
      const clamp = (v: number, max: number) => Math.max(0, Math.min(max - 1, v));
      const dx = Math.sign(Number(msg.dx) || 0);
      const dy = Math.sign(Number(msg.dy) || 0);
      const next = sender.setState((p) => ({
        ...p!,
        x: clamp(p!.x + dx, WORLD.width),
        y: clamp(p!.y + dy, WORLD.height),
      }));
      this.broadcast({ type: "moved", id: sender.id, x: next!.x, y: next!.y });
    } else if (msg.type === "rename" && typeof msg.name === "string") {
      const name = msg.name.slice(0, 24);
      sender.setState((p) => ({ ...p!, name }));
      this.broadcast({ type: "renamed", id: sender.id, name });
    }
  }

  onClose(conn: Party.Connection<Player>) {
    this.broadcast({ type: "left", id: conn.id });
  }

  private send(conn: Party.Connection, msg: ServerMessage) {
    conn.send(JSON.stringify(msg));
  }

  private broadcast(msg: ServerMessage, without?: string[]) {
    this.room.broadcast(JSON.stringify(msg), without);
  }
}
