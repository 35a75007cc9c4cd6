/**
 * An orphaned alarm on `partyhouse start` nodes, as an operator runs them: three processes, each
 * in its own copy of the project (its own state folder), configured only by the environment. A
 * room's owner sets an alarm and is killed with `kill -9`; with no request arriving, a surviving
 * node fires it within the lease + 1 s of its time, once, and its storage write lands once.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { killAll, startCli, tempProject } from "./cli-helpers.js";
import type { RunningCli } from "./cli-helpers.js";
import { sleep, waitFor } from "../helpers.js";
import { fileDatabase, whenPostgres } from "../storage/postgres-helpers.js";
import { nodeEnv } from "./cluster-env.js";

const LEASE_MS = 2000;

const PARTY = `
export default class Alarmed {
  constructor(room) { this.room = room; }
  async onRequest(request) {
    const arm = new URL(request.url).searchParams.get("arm");
    if (arm !== null) {
      await this.room.storage.setAlarm(Date.now() + Number(arm));
      return Response.json({ pid: process.pid });
    }
    return Response.json({ pid: process.pid, fired: (await this.room.storage.get("fired")) ?? 0 });
  }
  async onAlarm() {
    const fired = ((await this.room.storage.get("fired")) ?? 0) + 1;
    await this.room.storage.put("fired", fired);
    console.log("ALARM " + this.room.id + " " + fired + " " + process.pid + " " + Date.now());
  }
}
`;

/** The same project, written once per node (each with its own state folder). */
function projects(n: number): string[] {
  return Array.from({ length: n }, () => {
    const dir = tempProject("ph-cluster-alarm-");
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src/server.js"), PARTY);
    writeFileSync(join(dir, "partykit.json"), JSON.stringify({ name: "t", main: "src/server.js" }));
    return dir;
  });
}

const alarms = (run: RunningCli) => [...run.output().matchAll(/ALARM (\S+) (\d+) (\d+) (\d+)/g)];

const database = fileDatabase();

await whenPostgres(() => {
  test("kill -9 of a room's owner: a survivor fires its alarm once, with no request", async () => {
    const db = await database();
    const dirs = projects(3);
    try {
      const env = nodeEnv(db.url, LEASE_MS);
      const runs = await Promise.all(dirs.map((dir) => startCli(["start"], dir, env)));
      const [owner, ...survivors] = runs as [RunningCli, ...RunningCli[]];
      const armed = await fetch(`${owner.url}/parties/main/orphan?arm=1500`);
      assert.equal(armed.status, 200);
      assert.equal(((await armed.json()) as { pid: number }).pid, owner.child.pid);
      const due = Date.now() + 1500;
      owner.child.kill("SIGKILL");
      await owner.exited;

      const [fired] = await waitFor(
        () => {
          const seen = survivors.flatMap(alarms);
          return seen.length > 0 ? seen : undefined;
        },
        due - Date.now() + LEASE_MS + 1000 + 2000,
        "the orphaned alarm firing on a survivor",
      );
      const late = Number(fired![4]) - due;
      console.log(`orphaned alarm fired ${late} ms after its time (lease ${LEASE_MS} ms)`);
      assert.ok(late <= LEASE_MS + 1000, `fired within lease + 1 s of its time: ${late} ms`);
      assert.equal(fired![1], "orphan");

      // Long enough for a second firing, had the alarm row survived the handler's commit.
      await sleep(LEASE_MS + 1000);
      const all = survivors.flatMap(alarms);
      assert.equal(all.length, 1, `fired once: ${all.map((m) => m[0]).join(" | ")}`);
      const read = (await (await fetch(`${survivors[1]!.url}/parties/main/orphan`)).json()) as {
        fired: number;
      };
      assert.equal(read.fired, 1, "its storage write landed once");
    } finally {
      killAll();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
