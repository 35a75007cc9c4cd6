import { io } from "socket.io-client";
import type { ManagerOptions, Socket, SocketOptions } from "socket.io-client";
import type { Partyhouse } from "../../src/runtime/start.js";

const clients = new Set<Socket>();

/** A socket.io-client socket on a partyhouse server; no automatic reconnection unless asked. */
export function client(
  ph: Partyhouse | string,
  opts: Partial<ManagerOptions & SocketOptions> & { nsp?: string } = {},
): Socket {
  const base = typeof ph === "string" ? ph : ph.url;
  const { nsp = "", ...rest } = opts;
  const socket = io(base + nsp, { forceNew: true, reconnection: false, ...rest });
  clients.add(socket);
  return socket;
}

/** Disconnects every client made by `client()`; call it in afterEach. */
export function disconnectClients(): void {
  for (const socket of clients) socket.disconnect();
  clients.clear();
}

/** Resolves on `connect`, rejects with the `connect_error`. */
export function connected(socket: Socket): Promise<Socket> {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const ok = () => {
      socket.off("connect_error", fail);
      resolve(socket);
    };
    const fail = (err: Error) => {
      socket.off("connect", ok);
      reject(err);
    };
    socket.once("connect", ok);
    socket.once("connect_error", fail);
  });
}

/** The arguments of the next `event` on the socket. */
export function next<T extends unknown[] = unknown[]>(
  socket: Socket,
  event: string,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`timed out waiting for "${event}"`));
    }, timeoutMs);
    const on = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    };
    socket.once(event, on);
  });
}

/** Resolves once the socket's Engine.IO transport is `name` (after an upgrade). */
export function onTransport(socket: Socket, name: string, timeoutMs = 5000): Promise<void> {
  if (socket.io.engine.transport.name === name) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no upgrade to ${name}`)), timeoutMs);
    socket.io.engine.once("upgrade", (transport: { name: string }) => {
      clearTimeout(timer);
      if (transport.name === name) resolve();
      else reject(new Error(`upgraded to ${transport.name}`));
    });
  });
}
