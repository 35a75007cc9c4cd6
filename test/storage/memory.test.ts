import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryDriver } from "../../src/storage/memory.js";
import { createStorageProvider } from "../../src/storage/provider.js";
import { storageSuite } from "./suite.js";

storageSuite({ name: "memory", newDriver: () => ({ driver: new MemoryDriver() }) });

// The same semantics on a driver that answers every call in a later turn, as Postgres will.
storageSuite({
  name: "memory (async)",
  newDriver: () => ({ driver: new MemoryDriver() }),
  async: true,
});

test("createStorageProvider({ kind: 'memory' }) keeps data until close", async () => {
  const provider = createStorageProvider({ kind: "memory" });
  const storage = provider.open({ party: "main", room: "r" }, { onAlarmChange() {} });
  await storage.put("k", new Set([1]));
  assert.deepEqual(await storage.get("k"), new Set([1]));
  await provider.close();
});
