import { createServer } from "partyhouse/socket.io";

/** What the server sends; the client imports these types. */
export interface ChatMessage {
  username: string;
  message: string;
  at: number;
}
export interface ServerToClient {
  history(messages: ChatMessage[]): void;
  login(data: { numUsers: number }): void;
  "new message"(data: ChatMessage): void;
  "user joined"(data: { username: string; numUsers: number }): void;
  "user left"(data: { username: string; numUsers: number }): void;
  typing(data: { username: string }): void;
  "stop typing"(data: { username: string }): void;
}
export interface ClientToServer {
  "add user"(username: string): void;
  "new message"(message: string): void;
  typing(): void;
  "stop typing"(): void;
}
interface SocketData {
  username?: string;
}

const MAX_HISTORY = 100;
/**
 * One storage key per message, in arrival order (time, then a counter for messages of the same
 * millisecond): no value ever nears the 128 KiB value limit.
 */
let sequence = 0;
const nextKey = (at: number) =>
  `msg:${String(at).padStart(15, "0")}:${String(++sequence % 1e6).padStart(6, "0")}`;

/**
 * The classic Socket.IO chat (socket.io's examples/chat), one chat per `?partyId=`: each partyId
 * is a room with its own Socket.IO server, and its history lives in that room's storage, so it
 * survives restarts.
 */
export default createServer<ClientToServer, ServerToClient, Record<string, never>, SocketData>(
  async (io, room) => {
    // Loaded once per room instance; each message is one storage key, the oldest dropped.
    const stored = await room.storage.list<ChatMessage>({
      prefix: "msg:",
      reverse: true,
      limit: MAX_HISTORY,
    });
    const history = [...stored.values()].reverse();
    /** The storage key of each entry of `history`, in the same order. */
    const keys = [...stored.keys()].reverse();
    let numUsers = 0;

    io.on("connection", (socket) => {
      socket.on("new message", (text) => {
        const username = socket.data.username;
        if (username === undefined || typeof text !== "string" || text.trim() === "") return;
        const message: ChatMessage = { username, message: text.slice(0, 2000), at: Date.now() };
        const key = nextKey(message.at);
        history.push(message);
        keys.push(key);
        const excess = Math.max(0, history.length - MAX_HISTORY);
        history.splice(0, excess);
        const dropped = keys.splice(0, excess);
        // Unawaited on purpose (a chat need not wait for the disk), and safe: the value is small.
        void room.storage.put(key, message);
        if (dropped.length > 0) void room.storage.delete(dropped);
        socket.broadcast.emit("new message", message);
      });

      socket.on("add user", (username) => {
        if (socket.data.username !== undefined || typeof username !== "string") return;
        socket.data.username = username.slice(0, 32);
        ++numUsers;
        socket.emit("login", { numUsers });
        socket.broadcast.emit("user joined", { username: socket.data.username, numUsers });
      });

      socket.on("typing", () => {
        if (socket.data.username)
          socket.broadcast.emit("typing", { username: socket.data.username });
      });
      socket.on("stop typing", () => {
        if (socket.data.username) {
          socket.broadcast.emit("stop typing", { username: socket.data.username });
        }
      });

      socket.on("disconnect", () => {
        if (socket.data.username === undefined) return;
        --numUsers;
        socket.broadcast.emit("user left", { username: socket.data.username, numUsers });
      });

      socket.emit("history", history);
    });
  },
);
