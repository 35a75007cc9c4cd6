#!/usr/bin/env node
// The PartyKit conformance suite: the same checks against `partykit dev` (the reference) and
// `partyhouse dev`, on the fixture project in test/fixtures/compat. See its README.
//
//   node scripts/conformance.mjs --url http://127.0.0.1:1999 [--restart] [--only <regex>]
//       run the checks against a server you started; one JSON line per check. With --restart it
//       prints {"restart":true} after phase 1 and waits for a line on stdin (restart the server
//       on the same port and state meanwhile) before running phase 2.
//   node scripts/conformance.mjs --run partyhouse|partykit [--only <regex>]
//       start that server on the fixture (fresh state), run both phases across a restart, stop.
//   node scripts/conformance.mjs --compare [--only <regex>] [--write-expected] [--no-build]
//       both servers, one after the other, then a table of match / differ. `partykit dev` binds
//       0.0.0.0, so as root this moves into a private network namespace (loopback only) first.
//       --write-expected records partykit's results in test/fixtures/compat/expected.json.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { checks } from "./conformance/checks.mjs";
import { Target } from "./conformance/clients.mjs";
import { fixtureDir, startServer } from "./conformance/servers.mjs";
import { reexecInNetns } from "./lib/netns.mjs";

const root = new URL("..", import.meta.url).pathname;
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = option("only") ? new RegExp(option("only")) : null;
const log = (...a) => process.stderr.write(`[conformance] ${a.join(" ")}\n`);

// ---- normalization -------------------------------------------------------------------------------

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Hosts, ports and random ids differ by run and by server; what a user relies on does not. */
export function normalize(value, host) {
  if (typeof value === "string") {
    return value.split(host).join("HOST").replace(UUID, "<uuid>");
  }
  if (Array.isArray(value)) return value.map((v) => normalize(v, host));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v, host)]));
  }
  return value;
}

/** JSON with sorted keys, so equal results print equal. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

// ---- the checker ---------------------------------------------------------------------------------

/** Runs one phase of the checks; calls `emit` with each `{ name, result }`. */
async function runPhase(base, phase, state, emit) {
  const target = new Target(base);
  for (const c of checks) {
    if (c.phase !== phase || (only && !only.test(c.name))) continue;
    let result;
    try {
      result = await withTimeout(c.run(target, state), 20_000);
    } catch (e) {
      result = { checkFailed: e instanceof Error ? e.message : String(e) };
    }
    emit({ name: c.name, result: normalize(result, target.base.replace(/^https?:\/\//, "")) });
  }
}

function withTimeout(promise, ms) {
  let t;
  return Promise.race([
    promise,
    new Promise(
      (_, reject) => (t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(t));
}

/** Starts one server on the fixture with fresh state, runs phase 1, restarts it, runs phase 2. */
async function runTarget(kind, emit) {
  const persist = mkdtempSync(join(tmpdir(), `ph-conformance-${kind}-`));
  const serverLog = [];
  try {
    let server = await startServer(kind, { port: 0, persist, log: (s) => serverLog.push(s) });
    const state = {};
    try {
      await runPhase(server.url, 1, state, emit);
      await server.stop();
      server = await startServer(kind, {
        port: server.port,
        persist,
        log: (s) => serverLog.push(s),
      });
      await runPhase(server.url, 2, state, emit);
    } finally {
      await server.stop();
    }
  } catch (e) {
    log(`${kind}: ${e instanceof Error ? e.message : e}`);
    log(serverLog.join("").slice(-4000));
    throw e;
  } finally {
    // The fixture's .partykit/ (bundles; gitignored) stays: another run may be using it.
    rmSync(persist, { recursive: true, force: true });
  }
}

const printLine = (line) => process.stdout.write(JSON.stringify(line) + "\n");

if (option("url")) {
  const base = option("url");
  const state = {};
  await runPhase(base, 1, state, printLine);
  if (flag("restart")) {
    printLine({ restart: true });
    const rl = createInterface({ input: process.stdin });
    await new Promise((resolve) => rl.once("line", resolve));
    rl.close();
  }
  await runPhase(base, 2, state, printLine);
  process.exit(0);
} else if (option("run")) {
  await runTarget(option("run"), printLine);
  process.exit(0);
} else if (flag("compare")) {
  await compare();
  process.exit(0);
} else {
  console.error(
    "usage: conformance.mjs --url <base> [--restart] | --run <partykit|partyhouse> | --compare",
  );
  process.exit(2);
}

// ---- the comparison ------------------------------------------------------------------------------

async function compare() {
  const NETNS = "ph-conf";
  if (process.env.PH_CONF_IN_NETNS !== "1") {
    if (!flag("no-build")) {
      log("building partyhouse (npm run build)");
      const r = spawnSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" });
      if (r.status !== 0) throw new Error("build failed");
    }
    if (!flag("no-netns")) {
      log(`moving into network namespace ${NETNS} (loopback only) if possible`);
      reexecInNetns(NETNS, "PH_CONF_IN_NETNS", ["--no-build"]);
    }
    log("warning: not in a private network namespace; partykit dev binds 0.0.0.0");
  }

  const results = { partykit: new Map(), partyhouse: new Map() };
  for (const kind of ["partykit", "partyhouse"]) {
    log(`running the checks against ${kind} dev`);
    await runTarget(kind, (line) => results[kind].set(line.name, line.result));
  }

  const names = [...new Set([...results.partykit.keys(), ...results.partyhouse.keys()])];
  const expectedPath = join(fixtureDir, "expected.json");
  let intentional = {};
  try {
    intentional = JSON.parse(readFileSync(expectedPath, "utf8")).intentional ?? {};
  } catch {}
  const rows = names.map((name) => {
    const pk = results.partykit.get(name);
    const ph = results.partyhouse.get(name);
    const same = canonical(pk) === canonical(ph);
    return {
      name,
      verdict: same ? "match" : name in intentional ? "differ (intended)" : "DIFFER",
      pk,
      ph,
    };
  });
  const cut = (v) => {
    const s = canonical(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  };
  console.log("| check | verdict | partykit dev | partyhouse dev |\n|---|---|---|---|");
  for (const r of rows) {
    console.log(`| ${r.name} | ${r.verdict} | \`${cut(r.pk)}\` | \`${cut(r.ph)}\` |`);
  }
  const differ = rows.filter((r) => r.verdict !== "match");
  console.log(`\n${rows.length - differ.length} match, ${differ.length} differ`);
  for (const r of differ) {
    console.log(
      `\n### ${r.name} (${r.verdict})\npartykit:   ${canonical(r.pk)}\npartyhouse: ${canonical(r.ph)}`,
    );
  }
  const out = option("out") ?? join(tmpdir(), "partyhouse-conformance.json");
  writeFileSync(out, JSON.stringify(Object.fromEntries(rows.map((r) => [r.name, r])), null, 2));
  log(`full results: ${out}`);

  if (flag("write-expected")) {
    const checksOut = Object.fromEntries(
      names.filter((n) => results.partykit.has(n)).map((n) => [n, results.partykit.get(n)]),
    );
    const keep = Object.fromEntries(
      Object.entries(intentional)
        .filter(([n]) => n in checksOut)
        .map(([n, v]) => [n, { ...v, partyhouse: results.partyhouse.get(n) ?? null }]),
    );
    writeFileSync(
      expectedPath,
      JSON.stringify(
        { recordedWith: "partykit 0.0.115 (partykit dev)", intentional: keep, checks: checksOut },
        null,
        2,
      ) + "\n",
    );
    // Formatted as the repository's prettier wants it, so `npm test` (prettier --check) stays green.
    spawnSync("npx", ["prettier", "--write", expectedPath], { cwd: root, stdio: "ignore" });
    log(`wrote ${expectedPath}`);
  }
}
