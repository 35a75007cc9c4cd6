import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createStorageProvider } from "../../src/storage/provider.js";
import { killWriterAfter, tempDir } from "./helpers.js";

const WANTED = 300;

test("sqlite: every acknowledged put survives kill -9 of the writer", async () => {
  const { dir, remove } = tempDir();
  const path = join(dir, "storage.db");
  try {
    const acknowledged = await killWriterAfter([path], WANTED);

    const provider = createStorageProvider({ kind: "sqlite", path });
    const storage = provider.open({ party: "main", room: "crash" }, { onAlarmChange() {} });
    for (const key of acknowledged) {
      const i = Number(key.slice(4));
      assert.deepEqual(await storage.get(key), { i, payload: "x".repeat(i % 500) }, key);
    }
    const last = (await storage.get("last")) as number;
    assert.ok(last >= acknowledged.length - 1, `"last" is ${last}, behind the acknowledged keys`);
    await provider.close();
  } finally {
    remove();
  }
});
