import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "../helpers.js";
import { killAll, repoRoot, runCli, tempProject } from "../cli/cli-helpers.js";

after(killAll);

const unitPath = join(repoRoot, "deploy/partyhouse.service");
const unit = readFileSync(unitPath, "utf8");
const dockerfile = readFileSync(join(repoRoot, "deploy/Dockerfile"), "utf8");

/** `Key=value` lines of the unit, in order (a key may repeat). */
function directives(text: string): Array<[string, string]> {
  return text
    .split("\n")
    .filter((l) => /^[A-Za-z]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]);
}

/** The Dockerfile's instructions with continuation lines joined. */
function instructions(text: string): Array<[string, string]> {
  const joined = text.replace(/\\\n/g, " ").split("\n");
  return joined
    .filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"))
    .map((l) => {
      const m = /^([A-Z]+)\s+(.*)$/.exec(l.trim());
      assert.ok(m, `a Dockerfile instruction: ${l}`);
      return [m[1]!, m[2]!];
    });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("deploy/", () => {
  it("has a systemd unit that systemd-analyze verifies", () => {
    const r = spawnSync("systemd-analyze", ["verify", unitPath], { encoding: "utf8" });
    if (r.error && process.env.CI !== "true") return;
    assert.ifError(r.error);
    // A missing user is only known on the target machine; anything else is a defect.
    const problems = (r.stderr + r.stdout)
      .split("\n")
      .filter((l) => l.trim() !== "" && !/user|group/i.test(l));
    assert.deepEqual(problems, []);
  });

  it("runs the artifact with the unit's ExecStart and ExecStartPost, and stops on SIGTERM", async (t) => {
    const dir = tempProject("ph-unit-");
    const state = mkdtempSync(join(tmpdir(), "ph-unit-state-"));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      rmSync(state, { recursive: true, force: true });
    });
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "partykit.json"), JSON.stringify({ name: "u", main: "src/s.ts" }));
    writeFileSync(
      join(dir, "src/s.ts"),
      `export default class S { onRequest() { return new Response("from the unit"); } }\n`,
    );
    const build = await runCli(["build"], dir);
    assert.equal(build.code, 0, build.out);
    rmSync(join(dir, "src"), { recursive: true });
    rmSync(join(dir, "partykit.json"));

    const d = directives(unit);
    const env: Record<string, string> = {};
    for (const [k, v] of d) {
      if (k !== "Environment") continue;
      const eq = v.indexOf("=");
      env[v.slice(0, eq)] = v.slice(eq + 1);
    }
    const port = await freePort();
    env.PORT = String(port);
    const argv = (key: string) => {
      const line = d.find(([k]) => k === key)?.[1];
      assert.ok(line, key);
      const words = line.replace("/var/lib/partyhouse", state).split(/\s+/);
      assert.equal(words[0], "/usr/bin/node");
      return words.slice(1);
    };
    const child = spawn(process.execPath, argv("ExecStart"), {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    t.after(() => child.kill("SIGKILL"));
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const post = spawnSync(process.execPath, argv("ExecStartPost"), {
      cwd: dir,
      env: { ...process.env, ...env },
      encoding: "utf8",
    });
    assert.equal(post.status, 0, post.stderr + out);
    // spawnSync held this process: the server's output is read from here on.
    await waitFor(() => /from build [0-9a-f]+/.test(out), 10000, "the artifact start line");
    const res = await fetch(`http://127.0.0.1:${port}/parties/main/x`);
    assert.equal(await res.text(), "from the unit");
    assert.ok(readFileSync(join(state, "partyhouse.lock"), "utf8").includes(String(child.pid)));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    await waitFor(() => /stopped/.test(out), 5000, "the stop line");
  });

  it("has a Dockerfile that runs the same start command as the unit, unprivileged, with a health check", () => {
    const ins = instructions(dockerfile);
    const names = ins.map(([n]) => n);
    const known = [
      "FROM",
      "RUN",
      "WORKDIR",
      "COPY",
      "ENV",
      "USER",
      "VOLUME",
      "EXPOSE",
      "HEALTHCHECK",
      "STOPSIGNAL",
      "CMD",
    ];
    for (const n of names) assert.ok(known.includes(n), `known instruction ${n}`);
    assert.equal(names.filter((n) => n === "FROM").length, 2, "a build stage and a run stage");
    const last = (n: string) => ins.filter(([k]) => k === n).at(-1)?.[1];
    assert.equal(last("USER"), "node");
    assert.match(last("VOLUME")!, /\/data/);
    assert.match(last("HEALTHCHECK")!, /wait-ready\.mjs/);
    const cmd = JSON.parse(last("CMD")!) as string[];
    const exec = directives(unit)
      .find(([k]) => k === "ExecStart")![1]
      .split(/\s+/);
    assert.deepEqual(
      cmd.slice(1, -1),
      exec.slice(1, -1),
      "same command, only the state folder differs",
    );
    assert.equal(cmd.at(-1), "/data");
    // What the image runs ships in the package.
    const files = (
      JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { files: string[] }
    ).files;
    assert.ok(files.includes("deploy") && files.includes("bin"));
    const ignore = readFileSync(join(repoRoot, "deploy/Dockerfile.dockerignore"), "utf8").split(
      "\n",
    );
    for (const entry of ["node_modules", ".partyhouse", ".partykit", ".env"])
      assert.ok(ignore.includes(entry), entry);
  });
});
