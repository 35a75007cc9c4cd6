// What every Node peer shares: tell the parent where it listens, answer memory and broadcast
// requests over IPC, and exit cleanly on "stop" (so --cpu-prof/--heap-prof profiles get written).

/** @param {{ port: number, broadcastAll?: (msg: string) => number, stop: () => Promise<void> }} server */
export function serveControl(server) {
  process.on("message", async (msg) => {
    if (msg.type === "mem") {
      // Twice: the first pass queues finalizers, the second frees what they released.
      globalThis.gc?.();
      await new Promise((r) => setTimeout(r, 50));
      globalThis.gc?.();
      const m = process.memoryUsage();
      process.send({
        type: "mem",
        heapUsed: m.heapUsed,
        rss: m.rss,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
      });
    } else if (msg.type === "broadcastAll") {
      const t0 = process.hrtime.bigint();
      const rooms = server.broadcastAll?.(msg.message) ?? 0;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      process.send({ type: "broadcastAll", rooms, ms });
    } else if (msg.type === "stop") {
      await server.stop();
      process.exit(0);
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "listening", port: server.port, pid: process.pid });
}

/** `/parties/main/<room>` → room, else null. */
export function roomOf(url) {
  const m = /^\/parties\/[^/]+\/([^/?]+)/.exec(url ?? "");
  return m ? m[1] : null;
}
