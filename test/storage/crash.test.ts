import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createStorageProvider } from "../../src/storage/provider.js";
import { tempDir } from "./helpers.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const writer = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));
const WANTED = 300;

test("sqlite: every acknowledged put survives kill -9 of the writer", async () => {
  const { dir, remove } = tempDir();
  const path = join(dir, "storage.db");
  try {
    const child = spawn(process.execPath, ["--import", "tsx", writer, path], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = once(child, "exit");
    const acknowledged: string[] = [];
    for await (const line of createInterface({ input: child.stdout })) {
      acknowledged.push(line);
      if (acknowledged.length === WANTED) child.kill("SIGKILL");
    }
    const [code, signal] = (await exited) as [number | null, string | null];
    assert.equal(signal, "SIGKILL", `the writer should have been killed; exit ${code}: ${stderr}`);
    assert.ok(acknowledged.length >= WANTED, `only ${acknowledged.length} keys acknowledged`);

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
