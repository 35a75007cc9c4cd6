import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ErrorCodes } from "../../src/core/errors.js";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [join(dir, e.name)]
        : [],
  );
}

describe("error codes", () => {
  it("documents every PH_ERR_* code used in src/ in the one table", () => {
    const used = new Set<string>();
    for (const file of sources(join(import.meta.dirname, "../../src"))) {
      for (const m of readFileSync(file, "utf8").matchAll(/PH_ERR_[A-Z_]+/g)) used.add(m[0]);
    }
    assert.ok(used.size > 10);
    const missing = [...used].filter((c) => !(c in ErrorCodes));
    assert.deepEqual(missing, []);
  });
});
