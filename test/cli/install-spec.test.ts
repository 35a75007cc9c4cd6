import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installSpec } from "../../src/cli/install-spec.js";

/** A project as npm leaves it after installing partyhouse from `resolved`. */
function installedFrom(base: string, resolved: string | undefined): string {
  const root = join(base, "node_modules/partyhouse");
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, "package.json"),
    JSON.stringify({ name: "partyhouse", version: "0.1.0" }),
  );
  const packages = resolved ? { "node_modules/partyhouse": { version: "0.1.0", resolved } } : {};
  writeFileSync(join(base, "node_modules/.package-lock.json"), JSON.stringify({ packages }));
  return root;
}

describe("the partyhouse dependency init writes", () => {
  it("points at a checkout, a recorded tarball, or the registry", (t) => {
    const base = realpathSync(mkdtempSync(join(tmpdir(), "ph-spec-")));
    t.after(() => rmSync(base, { recursive: true, force: true }));
    const app = join(base, "apps/new-app");

    // A checkout (not inside node_modules): file: to its folder, relative when near.
    assert.equal(installSpec(app, join(base, "partyhouse")), "file:../../partyhouse");
    assert.equal(installSpec("/far/away/deep/app", join(base, "ph")), `file:${join(base, "ph")}`);

    // Installed from a tarball: npm recorded it relative to the project that installed it.
    const fromTgz = installedFrom(join(base, "tool"), "file:../partyhouse-0.1.0.tgz");
    assert.equal(installSpec(app, fromTgz), "file:../../partyhouse-0.1.0.tgz");
    const absTgz = installedFrom(join(base, "tool2"), `file:${base}/dl/partyhouse-0.1.0.tgz`);
    assert.equal(installSpec(app, absTgz), "file:../../dl/partyhouse-0.1.0.tgz");

    // From the registry (or nothing recorded): the version range.
    const fromRegistry = installedFrom(
      join(base, "tool3"),
      "https://registry.example/partyhouse/-/partyhouse-0.1.0.tgz",
    );
    assert.match(installSpec(app, fromRegistry), /^\^\d+\.\d+\.\d+$/);
    const unknown = installedFrom(join(base, "tool4"), undefined);
    assert.match(installSpec(app, unknown), /^\^\d+\.\d+\.\d+$/);
  });
});
