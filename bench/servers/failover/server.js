// The party of bench/failover.mjs, run by `partyhouse start` on every node: each message is a
// key, stored and awaited before it is acknowledged, so an "ack:KEY" means KEY is in PostgreSQL.
// The greeting names the process, so a client knows which node serves its room; GET lists the
// room's keys (read back after the failover to count lost writes).
/* global Response */
export default class FailoverParty {
  constructor(room) {
    this.room = room;
  }

  onConnect(conn) {
    conn.send(JSON.stringify({ type: "hello", pid: process.pid }));
  }

  async onMessage(message, sender) {
    const key = String(message);
    await this.room.storage.put(key, 1);
    sender.send("ack:" + key);
  }

  async onRequest() {
    const keys = [...(await this.room.storage.list()).keys()];
    return Response.json({ pid: process.pid, keys });
  }
}
