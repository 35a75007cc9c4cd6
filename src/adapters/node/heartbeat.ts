import type { HardenedWebSocket } from "./hardened-ws.js";

/**
 * Pings every WebSocket that has been quiet for `intervalMs` and terminates one that leaves a ping
 * unanswered for `timeoutMs`: a peer that vanished without a FIN (a laptop closed, a NAT entry
 * dropped) stops holding a descriptor and a room slot. Browsers and `ws` answer pings on their
 * own; nothing is needed in the page. Returns the stop function; an interval of 0 does nothing.
 */
export function startHeartbeat(
  clients: ReadonlySet<HardenedWebSocket>,
  intervalMs: number,
  timeoutMs: number,
): () => void {
  if (intervalMs <= 0) return () => {};
  const every = Math.max(10, Math.floor(Math.min(intervalMs, timeoutMs) / 2));
  const timer = setInterval(() => {
    const now = Date.now();
    for (const ws of clients) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.pingSentAt !== 0) {
        if (now - ws.pingSentAt >= timeoutMs) ws.terminate();
      } else if (now - ws.lastPong >= intervalMs) {
        ws.pingSentAt = now;
        ws.ping();
      }
    }
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
