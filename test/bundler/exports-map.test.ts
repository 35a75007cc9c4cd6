import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  WORKER_CONDITIONS,
  exportsEntry,
  mentionsCondition,
  splitSpecifier,
} from "../../src/bundler/exports-map.js";

describe("exports-map", () => {
  it("splits bare specifiers into package name and subpath", () => {
    assert.deepEqual(splitSpecifier("react-dom/server"), {
      name: "react-dom",
      subpath: "./server",
    });
    assert.deepEqual(splitSpecifier("@scope/pkg"), { name: "@scope/pkg", subpath: "." });
    assert.deepEqual(splitSpecifier("@scope/pkg/a/b.js"), {
      name: "@scope/pkg",
      subpath: "./a/b.js",
    });
  });

  it("finds the exports branch of a subpath: sugar, exact keys, longest pattern prefix", () => {
    assert.equal(exportsEntry("./index.js", "."), "./index.js");
    assert.equal(exportsEntry("./index.js", "./x"), undefined);
    const conds = { worker: "./w.js", default: "./n.js" };
    assert.equal(exportsEntry(conds, "."), conds);
    const map = {
      ".": "./main.js",
      "./server": { workerd: "./edge.js", default: "./node.js" },
      "./*": "./all/*.js",
      "./lib/*": { browser: "./b/*.js" },
      "./lib/*.css": "./css/*.css",
    };
    assert.equal(exportsEntry(map, "."), "./main.js");
    assert.deepEqual(exportsEntry(map, "./server"), { workerd: "./edge.js", default: "./node.js" });
    assert.deepEqual(exportsEntry(map, "./lib/x"), { browser: "./b/*.js" });
    assert.equal(exportsEntry(map, "./lib/x.css"), "./css/*.css");
    assert.equal(exportsEntry(map, "./other"), "./all/*.js");
    assert.equal(exportsEntry(undefined, "."), undefined);
  });

  it("sees worker conditions at any depth and in arrays, and nothing else", () => {
    assert.equal(mentionsCondition({ import: { worker: "./w.js" } }, WORKER_CONDITIONS), true);
    assert.equal(mentionsCondition([{ browser: "./b.js" }, "./n.js"], WORKER_CONDITIONS), true);
    assert.equal(
      mentionsCondition({ import: "./a.mjs", require: "./a.cjs" }, WORKER_CONDITIONS),
      false,
    );
    assert.equal(
      mentionsCondition({ node: "./n.js", default: "./d.js" }, WORKER_CONDITIONS),
      false,
    );
    assert.equal(mentionsCondition("./x.js", WORKER_CONDITIONS), false);
  });
});
