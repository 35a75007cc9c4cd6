#!/usr/bin/env node
// The README's test command: build, type-check, lint, then every test file with Node's runner.
// It finds (or, in CI, installs) what the end-to-end tests need, so nothing is silently skipped.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`test: '${cmd} ${args.join(" ")}' failed with ${r.status ?? r.signal}`);
    process.exit(r.status ?? 1);
  }
};

function ensureChromium() {
  if (existsSync("/usr/bin/chromium")) return;
  console.log(
    "test: /usr/bin/chromium is missing; installing Debian's chromium for the browser tests",
  );
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "chromium"], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

const only = process.argv.slice(2);
run("npm", ["run", "-s", "build"]);
if (only.length === 0) {
  run("npm", ["run", "-s", "typecheck"]);
  run("npm", ["run", "-s", "lint"]);
  ensureChromium();
}

const files = only.length > 0 ? only : collect(join(root, "test"));
function collect(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== "fixtures") out.push(...collect(p));
    else if (e.isFile() && e.name.endsWith(".test.ts")) out.push(p);
  }
  return out.sort();
}
run(process.execPath, [
  "--import",
  "tsx",
  "--test",
  "--test-concurrency=2",
  "--test-timeout=120000",
  ...files,
]);
