import type * as Party from "partykit/server";

export type ChatMessage = { id: string; user: string; text: string; at: number };
export type ServerEvent =
  | { type: "history"; messages: ChatMessage[] }
  | { type: "message"; message: ChatMessage }
  | { type: "presence"; count: number };

const MAX_HISTORY = 200;

/**
 * A chat room, as in PartyKit's docs: every message is broadcast to the room and appended to the
 * history in room storage, so a page that connects (or reloads) later gets it back.
 */
export default class ChatRoom implements Party.Server {
  messages: ChatMessage[] = [];

  constructor(readonly room: Party.Room) {}

  async onStart() {
    this.messages = (await this.room.storage.get<ChatMessage[]>("messages")) ?? [];
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
    this.messages = [...this.messages, message].slice(-MAX_HISTORY);
    await this.room.storage.put("messages", this.messages);
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
