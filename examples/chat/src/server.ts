import type * as Party from "partykit/server";

export type ChatMessage = { id: string; user: string; text: string; at: number };
export type ServerEvent =
  | { type: "history"; messages: ChatMessage[] }
  | { type: "message"; message: ChatMessage }
  | { type: "presence"; count: number };

const MAX_HISTORY = 200;
/**
 * One storage key per message, in arrival order (time, then a counter for messages of the same
 * millisecond): no value ever nears the 128 KiB value limit.
 */
let sequence = 0;
const nextKey = (at: number) =>
  `msg:${String(at).padStart(15, "0")}:${String(++sequence % 1e6).padStart(6, "0")}`;

/**
 * A chat room, as in PartyKit's docs: every message is broadcast to the room and kept in room
 * storage (the last MAX_HISTORY of them, one key each), so a page that connects (or reloads)
 * later gets the history back.
 */
export default class ChatRoom implements Party.Server {
  messages: ChatMessage[] = [];
  /** The storage key of each message in `messages`, by id. */
  private keys = new Map<string, string>();

  constructor(readonly room: Party.Room) {}

  async onStart() {
    const stored = await this.room.storage.list<ChatMessage>({
      prefix: "msg:",
      reverse: true,
      limit: MAX_HISTORY,
    });
    this.messages = [...stored.values()].reverse();
    for (const [key, m] of stored) this.keys.set(m.id, key);
  }

  onConnect(conn: Party.Connection) {
    this.send(conn, { type: "history", messages: this.messages });
    this.broadcastPresence();
  }

  onClose() {
    this.broadcastPresence();
  }

  async onMessage(raw: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
    if (typeof raw !== "string") return;
    let parsed: { user?: unknown; text?: unknown };
    try {
      parsed = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof parsed.text !== "string" || parsed.text.trim() === "") return;
    const message: ChatMessage = {
      id: crypto.randomUUID(),
      user: typeof parsed.user === "string" ? parsed.user.slice(0, 32) : sender.id.slice(0, 8),
      text: parsed.text.slice(0, 2000),
      at: Date.now(),
    };
    this.messages = [...this.messages, message];
    const dropped = this.messages.splice(0, Math.max(0, this.messages.length - MAX_HISTORY));
    const key = nextKey(message.at);
    this.keys.set(message.id, key);
    await this.room.storage.put(key, message);
    if (dropped.length > 0) {
      await this.room.storage.delete(dropped.map((m) => this.keys.get(m.id) ?? ""));
      for (const m of dropped) this.keys.delete(m.id);
    }
    this.room.broadcast(JSON.stringify({ type: "message", message } satisfies ServerEvent));
  }

  /** GET /parties/main/:room returns the history as JSON. */
  onRequest(req: Party.Request) {
    if (req.method !== "GET") return new Response("Method not allowed", { status: 405 });
    return Response.json(this.messages);
  }

  private send(conn: Party.Connection, event: ServerEvent) {
    conn.send(JSON.stringify(event));
  }

  private broadcastPresence() {
    const count = [...this.room.getConnections()].length;
    this.room.broadcast(JSON.stringify({ type: "presence", count } satisfies ServerEvent));
  }
}
