// The party every PartyKit-API peer runs (partyhouse, `partykit dev`): what a room does depends
// on the first letter of its id, so one server serves every scenario.
//   e… echo to the sender · b… broadcast to the room · c… greet on connect (cold start)
//   i… idle (memory) · s… storage on request ("awaited:N", "burst:N:B" or "rmw:N"), answered with JSON

/** Filled by bench/servers/partyhouse.mjs so the memory bench can broadcast to every room. */
const registry = globalThis.__partyhouseBenchRooms;

export default class BenchParty {
  constructor(room) {
    this.room = room;
    this.kind = room.id.charAt(0);
  }

  onStart() {
    if (registry !== undefined) registry.add(this.room);
  }

  onConnect(conn) {
    if (this.kind === "c") conn.send("hi");
  }

  onMessage(message, sender) {
    if (this.kind === "e") sender.send(message);
    else if (this.kind === "b") this.room.broadcast(message);
    else if (this.kind === "s") return this.storage(String(message), sender);
  }

  async storage(command, sender) {
    const [mode, nText, bText] = command.split(":");
    const n = Number(nText);
    const burst = Number(bText ?? 1);
    const storage = this.room.storage;
    const value = { v: "x".repeat(64) };
    const t0 = Date.now();
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
    sender.send(JSON.stringify({ ops: n, ms: Date.now() - t0 }));
  }
}
