/**
 * A cron of a cluster runs once per tick, not once per node: three `partyhouse start` nodes on one
 * PostgreSQL database, a cron firing every second, each run printed by the node that ran it. A
 * naive cluster (every node scheduling and running its crons) prints each tick three times. When
 * the node that ran most ticks is killed, the others keep running them.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { killAll, startCli, tempProject } from "./cli-helpers.js";
import type { RunningCli } from "./cli-helpers.js";
import { sleep } from "../helpers.js";
import { fileDatabase, whenPostgres } from "../storage/postgres-helpers.js";
import { nodeEnv } from "./cluster-env.js";

const PARTY = `
export default class Ticker {
  static onCron(cron) { console.log("TICK " + cron.name + " " + cron.scheduledTime); }
}
`;

function project(): string {
  const dir = tempProject("ph-cluster-cron-");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src/server.js"), PARTY);
  writeFileSync(
    join(dir, "partykit.json"),
    JSON.stringify({ name: "t", main: "src/server.js", crons: { everySecond: "* * * * * *" } }),
  );
  return dir;
}

/** Every tick each node printed: the scheduled times, by node. */
function ticks(runs: readonly RunningCli[]): number[][] {
  return runs.map((r) =>
    [...r.output().matchAll(/TICK everySecond (\d+)/g)].map((m) => Number(m[1])),
  );
}

const database = fileDatabase();

await whenPostgres(() => {
  test("three nodes run each tick of a cron once, and keep running it when one dies", async () => {
    const db = await database();
    const dir = project();
    try {
      const env = nodeEnv(db.url, 2000);
      const runs = await Promise.all([0, 1, 2].map(() => startCli(["start"], dir, env)));
      await sleep(5000);
      const before = ticks(runs);
      const all = before.flat();
      assert.ok(all.length >= 3, `ticks ran: ${JSON.stringify(before)}`);
      assert.equal(new Set(all).size, all.length, `no tick ran twice: ${JSON.stringify(before)}`);
      for (const t of all) assert.equal(t % 1000, 0, "scheduledTime is the tick's second");

      // The node that ran the most ticks dies; the two others go on, still once per tick.
      const busiest = before.indexOf(before.reduce((a, b) => (b.length > a.length ? b : a)));
      runs[busiest]!.child.kill("SIGKILL");
      await runs[busiest]!.exited;
      const killedAt = Date.now();
      await sleep(4000);
      const after = ticks(runs);
      const survivors = after.filter((_, i) => i !== busiest).flat();
      const late = survivors.filter((t) => t > killedAt + 1000);
      assert.ok(
        late.length >= 2,
        `the survivors ran ticks after the kill: ${JSON.stringify(after)}`,
      );
      const every = after.flat();
      assert.equal(
        new Set(every).size,
        every.length,
        `no tick ran twice: ${JSON.stringify(after)}`,
      );
    } finally {
      killAll();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
