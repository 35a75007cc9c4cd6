// The PartyKit conformance suite, without PartyKit: `scripts/conformance.mjs --run partyhouse`
// starts the built CLI (`partyhouse dev -p 0`) on test/fixtures/compat, runs every check (and the
// restart phase), and we compare what it saw with test/fixtures/compat/expected.json, recorded
// from a real `partykit dev` run. Checks listed under "intentional" differ from PartyKit on
// purpose (the fixture's README says why); for those we hold partyhouse to its own recorded value.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

interface Expected {
  recordedWith: string;
  intentional: Record<string, { why: string; partyhouse: unknown }>;
  checks: Record<string, unknown>;
}

function runChecker(): Promise<Map<string, unknown>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [join(root, "scripts/conformance.mjs"), "--run", "partyhouse"],
      {
        cwd: root,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0)
        return reject(new Error(`the checker exited with ${code}:\n${err.slice(-4000)}`));
      const results = new Map<string, unknown>();
      for (const line of out.split("\n")) {
        if (line.trim() === "") continue;
        const { name, result } = JSON.parse(line) as { name: string; result: unknown };
        results.set(name, result);
      }
      resolvePromise(results);
    });
  });
}

describe("PartyKit conformance (recorded from partykit dev)", () => {
  it("partyhouse dev answers every check as partykit dev did", async () => {
    const expected = JSON.parse(
      readFileSync(join(root, "test/fixtures/compat/expected.json"), "utf8"),
    ) as Expected;
    const actual = await runChecker();

    const problems: string[] = [];
    for (const [name, want] of Object.entries(expected.checks)) {
      if (!actual.has(name)) {
        problems.push(`${name}: not run`);
        continue;
      }
      const intended = expected.intentional[name];
      const reference = intended === undefined ? want : intended.partyhouse;
      try {
        assert.deepStrictEqual(actual.get(name), reference);
      } catch {
        problems.push(
          `${name}${intended ? " (an intentional difference; partyhouse's own value changed)" : ""}\n` +
            `  expected: ${JSON.stringify(reference)}\n  actual:   ${JSON.stringify(actual.get(name))}`,
        );
      }
    }
    for (const name of actual.keys()) {
      if (!(name in expected.checks)) {
        problems.push(
          `${name}: not in expected.json (re-record: node scripts/conformance.mjs --compare --write-expected)`,
        );
      }
    }
    assert.deepEqual(problems, [], `\n${problems.join("\n")}`);
    assert.ok(actual.size > 150, `only ${actual.size} checks ran`);
  });
});
