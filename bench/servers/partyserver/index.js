/* global Response */
// The same bench party on Cloudflare's partyserver (what PartyKit runs on today), for `wrangler dev`.
// partyserver's handlers take (connection, message), the reverse of classic PartyKit's.
import { Server, routePartykitRequest } from "partyserver";

export class Main extends Server {
  onStart() {
    this.kind = this.name.charAt(0);
  }

  onConnect(conn) {
    if (this.kind === "c") conn.send("hi");
  }

  onMessage(sender, message) {
    if (this.kind === "e") sender.send(message);
    else if (this.kind === "b") this.broadcast(message);
    else if (this.kind === "s") return this.storage(String(message), sender);
  }

  async storage(command, sender) {
    const [mode, nText, bText] = command.split(":");
    const n = Number(nText);
    const burst = Number(bText ?? 1);
    const storage = this.ctx.storage;
    const value = { v: "x".repeat(64) };
    if (mode === "gate") {
      // One unawaited write, then the reply: the output gate's delay is this reply's latency
      // minus that of "plain" (the same reply with no write before it).
      void storage.put(`g${n}`, { ...value, i: n });
    } else if (mode === "plain") {
      // No write: the baseline round trip for "gate".
    } else if (mode === "awaited") {
      for (let i = 0; i < n; i++) await storage.put(`k${i}`, { ...value, i });
    } else if (mode === "rmw") {
      // Read-modify-write of one counter, awaiting both: what a party keeping a tally does.
      for (let i = 0; i < n; i++) {
        const count = (await storage.get("counter")) ?? 0;
        await storage.put("counter", count + 1);
      }
    } else {
      for (let i = 0; i < n; i += burst) {
        let last;
        for (let j = i; j < i + burst && j < n; j++)
          last = storage.put(`k${j}`, { ...value, i: j });
        await last;
      }
    }
    sender.send(JSON.stringify({ ops: n }));
  }
}

export default {
  async fetch(request, env) {
    return (await routePartykitRequest(request, env)) ?? new Response("Not found", { status: 404 });
  },
};
