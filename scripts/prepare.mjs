#!/usr/bin/env node
// npm's `prepare`: build dist/ unless it is already newer than every source file. A project that
// installs partyhouse from this checkout (`init`, `file:` specs) runs it too; rebuilding a fresh
// dist/ there would rewrite files under a server that is running from them (seen in the test
// suite: a module briefly without its exports).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const built = join(root, "dist/cli/main.js");

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (existsSync(built) && statSync(built).mtimeMs >= newest(join(root, "src"))) process.exit(0);
const r = spawnSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" });
process.exit(r.status ?? 1);
