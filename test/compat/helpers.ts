import { after } from "node:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { killAll } from "../cli/cli-helpers.js";

const dirs: string[] = [];
after(() => {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A temp project made of `files` (its own node_modules included, so a fixture package is part
 * of the project), removed when the test file ends. Binary files are given as Buffers.
 */
export function project(files: Record<string, string | Buffer>): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "ph-compat-")));
  dirs.push(root);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  return root;
}

/** A package.json text. */
export const pkg = (json: Record<string, unknown>) => JSON.stringify(json, null, 2);
