import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import WebSocket from "ws";
import { Client, waitFor } from "../helpers.js";
import { binPath, killAll, repoRoot, runCli, startCli, tempProject } from "./cli-helpers.js";

after(killAll);

const toWs = (url: string, path: string) => url.replace("http", "ws") + path;
const version = (
  JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }
).version;

function writeProject(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

const SERVER = `
import type * as Party from "partykit/server";
export default class Main implements Party.Server {
  constructor(readonly room: Party.Room) {}
  static onCron(cron: Party.Cron) { console.log("cron ran", cron.name); }
  onConnect(conn: Party.Connection) { conn.send("hi"); }
  onMessage(message: string, sender: Party.Connection) {
    if (message === "block") {
      const until = Date.now() + 1200;
      while (Date.now() < until);
    }
    sender.send("echo " + message);
  }
  async onRequest(req: Party.Request) {
    const path = new URL(req.url).pathname;
    if (path.endsWith("/boom")) throw new Error("boom in the party");
    if (path.endsWith("/slow")) {
      console.log("slow started");
      await new Promise((r) => setTimeout(r, 1500));
      return new Response("slow done");
    }
    console.log("hello from room", this.room.id);
    await this.room.storage.put("seen", Date.now());
    return new Response(req.url);
  }
}
`;
const NO_REQUEST = `export default class NoRequest { onConnect() {} }\n`;

function project(
  prefix: string,
  extra: Record<string, string> = {},
  config: Record<string, unknown> = {},
): string {
  const dir = tempProject(prefix);
  writeProject(dir, {
    "partykit.json": JSON.stringify({
      name: "prod",
      main: "src/server.ts",
      parties: { norequest: "src/norequest.ts" },
      crons: { daily: "0 0 * * *" },
      ...config,
    }),
    "src/server.ts": SERVER,
    "src/norequest.ts": NO_REQUEST,
    ...extra,
  });
  return dir;
}

interface LogLine {
  level: string;
  message: string;
  code?: string;
  party?: string;
  room?: string;
  source?: string;
  stack?: string;
}
const lines = (out: string): LogLine[] =>
  out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);

describe("partyhouse start: probes, metrics, guarded endpoints, logs", () => {
  it("serves health/ready/metrics, guards /__scheduled__, logs JSON with rooms and source stacks", async (t) => {
    const dir = project("ph-ops-", {}, { limits: { idleTimeoutMs: 300 } });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const run = await startCli(["start", "--verbose"], dir, {
      PORT: "0",
      HOST: "127.0.0.1",
      PARTYHOUSE_CRON_TOKEN: "cron-secret",
      PARTYHOUSE_METRICS_TOKEN: "metrics-secret",
    });
    const url = run.url;
    assert.equal((await fetch(`${url}/__partyhouse/health`)).status, 200);
    assert.equal((await fetch(`${url}/__partyhouse/ready`)).status, 200);
    assert.equal((await fetch(`${url}/__partyhouse/other`)).status, 404);

    // /__scheduled__ needs the token in start, and only runs configured crons.
    assert.equal((await fetch(`${url}/__scheduled__?cron=daily`)).status, 403);
    const auth = { headers: { authorization: "Bearer cron-secret" } };
    const ran = await fetch(`${url}/__scheduled__?cron=daily`, auth);
    assert.equal(ran.status, 200);
    assert.equal(await ran.text(), "ran cron daily: 0 0 * * *");
    assert.equal((await fetch(`${url}/__scheduled__?cron=evil`, auth)).status, 404);

    // Traffic for the metrics and the logs.
    const client = await new Client(toWs(url, "/parties/main/r1")).open();
    assert.equal(await client.nextText(), "hi");
    client.send("ping");
    assert.equal(await client.nextText(), "echo ping");
    assert.equal((await fetch(`${url}/parties/main/r1`)).status, 200);
    assert.equal((await fetch(`${url}/parties/main/r1/boom`)).status, 500);
    assert.equal((await fetch(`${url}/parties/norequest/x`)).status, 500);

    assert.equal((await fetch(`${url}/__partyhouse/metrics`)).status, 403);
    const metrics = await fetch(`${url}/__partyhouse/metrics`, {
      headers: { authorization: "Bearer metrics-secret" },
    });
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /text\/plain/);
    const text = await metrics.text();
    assert.match(text, /^partyhouse_connections\{party="main"\} 1$/m);
    assert.match(text, /^partyhouse_rooms\{party="main",state="live"\} 1$/m);
    assert.match(text, /^partyhouse_messages_received_total\{party="main"\} 1$/m);
    assert.match(text, /^partyhouse_messages_sent_total\{party="main"\} 2$/m);
    assert.match(text, /^partyhouse_http_requests_total\{status="200"\} [1-9]/m);
    assert.match(text, /^partyhouse_http_requests_total\{status="403"\} [1-9]/m);
    assert.match(text, /^partyhouse_storage_commits_total [1-9]/m);
    assert.match(text, /^partyhouse_http_request_duration_seconds_count\{party="main"\} [1-9]/m);
    assert.match(text, /^partyhouse_storage_commit_duration_seconds_count [1-9]/m);
    assert.match(
      text,
      /^partyhouse_handler_duration_seconds_count\{party="main",handler="onMessage"\} 1$/m,
    );
    assert.match(
      text,
      /^partyhouse_handler_duration_seconds_count\{party="main",handler="onRequest"\} 2$/m,
    );
    assert.match(text, /^partyhouse_errors_total\{code="PH_ERR_ON_REQUEST",party="main"\} 1$/m);
    assert.match(text, /^partyhouse_nodejs_eventloop_lag_seconds /m);
    assert.match(text, /^partyhouse_process_resident_memory_bytes /m);
    assert.doesNotMatch(text, /r1/, "never a label per room");

    await waitFor(() => /hello from room/.test(run.output()), 10000, "the console line");
    const log = lines(run.output());
    const hello = log.find((l) => l.source === "console" && l.message === "hello from room r1");
    assert.ok(hello, run.output());
    assert.equal(hello.party, "main");
    assert.equal(hello.room, "r1");
    assert.ok(log.some((l) => l.source === "console" && l.message === "cron ran daily"));
    const boom = log.find((l) => l.code === "PH_ERR_ON_REQUEST");
    assert.ok(boom?.stack, run.output());
    assert.match(boom.stack, /src[/\\]server\.ts:\d+/, "the stack names the source file");
    const noReq = log.find((l) => l.code === "PH_ERR_NO_ON_REQUEST");
    assert.equal(noReq?.party, "norequest");
    assert.equal(noReq?.room, "x");
    assert.ok(
      log.some((l) => l.level === "debug" && /GET \/parties\/main\/r1 → 200/.test(l.message)),
    );
    assert.ok(
      log.some((l) => l.level === "debug" && /connection open/.test(l.message) && l.room === "r1"),
    );
    assert.ok(log.some((l) => l.code === "PH_ERR_CRON_FORBIDDEN"));
    assert.ok(
      log.some((l) => l.level === "debug" && l.message === "room created" && l.room === "r1"),
    );
    // A room without connections is evicted after idleTimeoutMs, at debug level.
    assert.equal((await fetch(`${url}/parties/main/r3`)).status, 200);
    await waitFor(
      () => lines(run.output()).some((l) => l.message === "room evicted" && l.room === "r3"),
      10000,
      "the eviction line",
    );

    // Shutdown: an in-flight request is answered within the grace period; readiness says draining.
    const slow = fetch(`${url}/parties/main/r2/slow`).then(async (r) => [r.status, await r.text()]);
    await waitFor(() => /slow started/.test(run.output()), 10000, "the slow request");
    run.child.kill("SIGTERM");
    assert.deepEqual(await slow, [200, "slow done"]);
    assert.equal((await client.closed).code, 1012);
    assert.equal((await run.exited).code, 0);
    assert.match(run.output(), /up to 5000 ms for in-flight requests/);
  });

  it("keeps /__scheduled__ open in dev but refuses unknown cron names with 404", async (t) => {
    const dir = project("ph-cron-dev-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const dev = await startCli(["dev", "-p", "0"], dir);
    assert.equal((await fetch(`${dev.url}/__scheduled__?cron=daily`)).status, 200);
    const unknown = await fetch(`${dev.url}/__scheduled__?cron=evil`);
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /No cron "evil"/);
    assert.equal((await fetch(`${dev.url}/__partyhouse/metrics`)).status, 200);
    dev.child.kill("SIGTERM");
    await dev.exited;
  });
});

describe("the admin listener: list, info, tail", () => {
  it("lists rooms, describes one, and streams logs filtered by room", async (t) => {
    const dir = project("ph-admin-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const run = await startCli(["start", "-p", "0", "--admin-port", "0"], dir);
    const admin = (await run.waitForOutput(/admin listener on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const client = await new Client(toWs(run.url, "/parties/main/lobby?_pk=ada")).open();
    assert.equal(await client.nextText(), "hi");
    assert.equal((await fetch(`${run.url}/parties/main/lobby`)).status, 200);

    const list = await runCli(["list", "--admin", admin], dir);
    assert.equal(list.code, 0, list.out);
    assert.match(list.out, /^main\tlobby\tlive\t1$/m);
    const info = await runCli(["info", "main", "lobby", "--admin", admin, "--format", "json"], dir);
    assert.equal(info.code, 0, info.out);
    const parsed = JSON.parse(info.out) as { connections: Array<{ id: string }>; keys: string[] };
    assert.deepEqual(
      parsed.connections.map((c) => c.id),
      ["ada"],
    );
    assert.deepEqual(parsed.keys, ["seen"]);
    assert.equal((await fetch(`${admin}/metrics`)).status, 200);

    const tail = spawn(process.execPath, [binPath, "tail", "--admin", admin, "--room", "other"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    t.after(() => tail.kill("SIGKILL"));
    let tailed = "";
    tail.stdout.on("data", (d: Buffer) => (tailed += d.toString()));
    await waitFor(() => /tail: connected/.test(tailed), 15000, "tail to connect");
    await fetch(`${run.url}/parties/main/lobby`);
    await fetch(`${run.url}/parties/main/other`);
    await waitFor(
      () => /main\/other: hello from room other/.test(tailed),
      10000,
      `the tailed line:\n${tailed}`,
    );
    assert.doesNotMatch(tailed, /hello from room lobby/, "filtered by room");
    tail.kill("SIGTERM");
    client.close();
    run.child.kill("SIGTERM");
    await run.exited;
  });

  it("refuses an admin listener open to other machines without a token", async (t) => {
    const dir = project("ph-admin-open-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const r = await runCli(
      ["start", "-p", "0", "--admin-port", "0", "--admin-host", "0.0.0.0"],
      dir,
    );
    assert.equal(r.code, 1);
    assert.match(r.out, /PH_ERR_CONFIG.*PARTYHOUSE_ADMIN_TOKEN/);
    const run = await startCli(
      ["start", "-p", "0", "--admin-port", "0", "--admin-host", "0.0.0.0"],
      dir,
      {
        PARTYHOUSE_ADMIN_TOKEN: "adm",
      },
    );
    const port = (await run.waitForOutput(/admin listener on http:\/\/[\d.]+:(\d+)/))[1]!;
    assert.equal((await fetch(`http://127.0.0.1:${port}/rooms`)).status, 401);
    const ok = await fetch(`http://127.0.0.1:${port}/rooms`, {
      headers: { authorization: "Bearer adm" },
    });
    assert.equal(ok.status, 200);
    run.child.kill("SIGTERM");
    await run.exited;
  });
});

describe("the event-loop watchdog", () => {
  it("logs and counts a handler that blocks the event loop, with its party and room", async (t) => {
    const dir = project("ph-watchdog-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const run = await startCli(["start", "-p", "0", "--persist", "false"], dir, {
      PARTYHOUSE_BLOCKED_MS: "500",
    });
    const client = await new Client(toWs(run.url, "/parties/main/blocker")).open();
    assert.equal(await client.nextText(), "hi");
    client.send("block");
    assert.equal(await client.nextText(), "echo block");
    await waitFor(
      () =>
        lines(run.output()).some(
          (l) => /event loop was blocked/.test(l.message) && l.room === "blocker",
        ),
      10000,
      "the watchdog line",
    );
    const metrics = await (await fetch(`${run.url}/__partyhouse/metrics`)).text();
    assert.match(metrics, /^partyhouse_event_loop_blocked_total\{party="main"\} [1-9]/m);
    client.close();
    run.child.kill("SIGTERM");
    await run.exited;
  });
});

describe("shutdown grace", () => {
  it("answers a request still running after --shutdown-grace with 503", async (t) => {
    const dir = project("ph-grace-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const run = await startCli(["start", "-p", "0", "--shutdown-grace", "200"], dir);
    const slow = fetch(`${run.url}/parties/main/g/slow`).then(async (r) => [
      r.status,
      await r.text(),
    ]);
    await waitFor(() => /slow started/.test(run.output()), 10000, "the slow request");
    run.child.kill("SIGTERM");
    const [status, body] = await slow;
    assert.equal(status, 503);
    assert.match(String(body), /shutting down/);
    assert.equal((await run.exited).code, 0);
    assert.match(run.output(), /PH_ERR_SHUTDOWN.*still running after 200 ms; answered 503/);
  });
});

describe("one server per state folder", () => {
  it("refuses a second start on the same state, takes over after kill -9, and codes EADDRINUSE", async (t) => {
    const dir = project("ph-lock-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startCli(["start", "-p", "0"], dir);
    const second = await runCli(["start", "-p", "0"], dir);
    assert.equal(second.code, 1);
    assert.match(second.out, /PH_ERR_STATE_LOCKED/);
    assert.match(second.out, new RegExp(`pid ${first.child.pid}`));

    // The same port with another state folder: a coded error with the fix, no stack.
    const port = new URL(first.url).port;
    const clash = await runCli(
      ["start", "-p", port, "--host", "127.0.0.1", "--persist", join(dir, "other")],
      dir,
    );
    assert.equal(clash.code, 1);
    assert.match(clash.out, /PH_ERR_ADDRESS_IN_USE.*-p <port>/);
    assert.doesNotMatch(clash.out, /\n\s+at /);

    first.child.kill("SIGKILL");
    await first.exited;
    assert.ok(existsSync(join(dir, ".partykit/state/partyhouse.lock")), "kill -9 leaves the lock");
    const third = await startCli(["start", "-p", "0"], dir);
    assert.equal(
      readFileSync(join(dir, ".partykit/state/partyhouse.lock"), "utf8").trim(),
      String(third.child.pid),
    );
    third.child.kill("SIGTERM");
    const e3 = await third.exited;
    assert.equal(e3.code, 0, JSON.stringify(e3) + third.output());
    assert.ok(!existsSync(join(dir, ".partykit/state/partyhouse.lock")), "a clean stop removes it");
  });
});

const CLIENT = `declare const PARTYKIT_HOST: string;\nexport const host = PARTYKIT_HOST;\nconsole.log("dial", host);\n`;

describe("partyhouse build → start from the artifact", () => {
  it("writes a versioned artifact that start runs without source, with same-origin PARTYKIT_HOST", async (t) => {
    const dir = project("ph-artifact-", {
      "public/index.html": "<!doctype html><p>page</p>\n",
      "src/client.ts": CLIENT,
    });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const cfg = JSON.parse(readFileSync(join(dir, "partykit.json"), "utf8")) as Record<
      string,
      unknown
    >;
    writeFileSync(
      join(dir, "partykit.json"),
      JSON.stringify({ ...cfg, serve: { path: "public", build: "src/client.ts" } }),
    );
    const plain = await runCli(["build", "--out", "plain"], dir);
    assert.equal(plain.code, 0, plain.out);
    const build = await runCli(["build", "--minify"], dir);
    assert.equal(build.code, 0, build.out);
    const out = join(dir, ".partyhouse");
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
      partyhouse: string;
      buildId: string;
      parties: Record<string, { file: string; sha256: string }>;
      assets: { files: Record<string, string> };
    };
    assert.equal(manifest.partyhouse, version);
    assert.deepEqual(Object.keys(manifest.parties).sort(), ["main", "norequest"]);
    const mainFile = join(out, manifest.parties.main!.file);
    assert.equal(
      createHash("sha256").update(readFileSync(mainFile)).digest("hex"),
      manifest.parties.main!.sha256,
    );
    assert.ok(
      statSync(mainFile).size < statSync(join(dir, "plain/parties/main.mjs")).size,
      "--minify",
    );
    assert.doesNotMatch(readFileSync(mainFile, "utf8"), /file:\/\//, "no path of this machine");
    assert.ok(manifest.assets.files["index.html"]);
    const client = readFileSync(join(out, "public/dist/client.js"), "utf8");
    assert.match(client, /location\.host/);
    assert.doesNotMatch(client, /127\.0\.0\.1/);

    // Only the artifact (and node_modules) in a new folder: no partykit.json, no src.
    const deployed = tempProject("ph-deployed-");
    t.after(() => rmSync(deployed, { recursive: true, force: true }));
    cpSync(out, join(deployed, ".partyhouse"), { recursive: true });
    const run = await startCli(["start"], deployed, { PORT: "0" });
    assert.match(run.output(), new RegExp(`from build ${manifest.buildId}`));
    assert.doesNotMatch(run.output(), /PH_ERR_BUNDLE|esbuild/);
    assert.match(await (await fetch(`${run.url}/`)).text(), /page/);
    const res = await fetch(`${run.url}/parties/main/a`);
    assert.equal(res.status, 200);
    const ws = await new Client(toWs(run.url, "/parties/main/a")).open();
    assert.equal(await ws.nextText(), "hi");
    ws.close();
    run.child.kill("SIGTERM");
    assert.equal((await run.exited).code, 0);

    // A changed file is refused with a code.
    writeFileSync(join(deployed, ".partyhouse/parties/main.mjs"), "export default 1;\n");
    const tampered = await runCli(["start", "-p", "0"], deployed);
    assert.equal(tampered.code, 1);
    assert.match(tampered.out, /PH_ERR_ARTIFACT.*parties\/main\.mjs/);

    // An explicit public host is baked into client code instead.
    const pub = await runCli(["build", "--public-host", "chat.example.com"], dir);
    assert.equal(pub.code, 0, pub.out);
    assert.match(readFileSync(join(out, "public/dist/client.js"), "utf8"), /chat\.example\.com/);
  });
});

describe("TLS, proxies, version", () => {
  it("serves HTTPS and WSS with --https and a key and certificate", async (t) => {
    const dir = project("ph-tls-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    const gen = spawnSync("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ]);
    assert.equal(gen.status, 0, String(gen.stderr));
    const child = spawn(
      process.execPath,
      [
        binPath,
        "start",
        "-p",
        "0",
        "--host",
        "127.0.0.1",
        "--https",
        "--https-key-path",
        key,
        "--https-cert-path",
        cert,
      ],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    t.after(() => child.kill("SIGKILL"));
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    await waitFor(() => /listening on https:\/\/[\d.:]+/.test(out), 30000, `https start:\n${out}`);
    const url = /listening on (https:\/\/[\d.:]+)/.exec(out)![1]!;
    const ca = readFileSync(cert);
    const body = await new Promise<string>((resolve, reject) => {
      httpsGet(`${url}/parties/main/tls`, { ca }, (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    assert.equal(body, `${url}/parties/main/tls`);
    const ws = new WebSocket(`${url.replace("https", "wss")}/parties/main/tls`, { ca });
    const first = await new Promise<string>((resolve, reject) => {
      ws.once("message", (d: Buffer) => resolve(d.toString()));
      ws.once("error", reject);
    });
    assert.equal(first, "hi");
    ws.close();
    const missing = await runCli(["start", "-p", "0", "--https"], dir);
    assert.equal(missing.code, 1);
    assert.match(missing.out, /PH_ERR_HTTPS.*--https-key-path/);
  });

  it("honours X-Forwarded-Proto/-Host in request.url only with --trust-proxy", async (t) => {
    const dir = project("ph-proxy-");
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const headers = { "x-forwarded-proto": "https", "x-forwarded-host": "chat.example.com" };
    const plain = await startCli(["start", "-p", "0", "--persist", "false"], dir);
    const seen = await (await fetch(`${plain.url}/parties/main/p`, { headers })).text();
    assert.equal(seen, `${plain.url}/parties/main/p`);
    plain.child.kill("SIGTERM");
    await plain.exited;
    const trusted = await startCli(
      ["start", "-p", "0", "--persist", "false", "--trust-proxy"],
      dir,
    );
    const proxied = await (await fetch(`${trusted.url}/parties/main/p`, { headers })).text();
    assert.equal(proxied, "https://chat.example.com/parties/main/p");
    // Behind a proxy, loopback alone does not open the operator endpoints.
    const viaProxy = await fetch(`${trusted.url}/__partyhouse/metrics`, {
      headers: { "x-forwarded-for": "203.0.113.9" },
    });
    assert.equal(viaProxy.status, 403);
    assert.equal((await fetch(`${trusted.url}/__partyhouse/metrics`)).status, 200);
    trusted.child.kill("SIGTERM");
    await trusted.exited;
  });

  it("has a --help per command", async () => {
    const want: Record<string, RegExp> = {
      dev: /partyhouse dev \[entry\].*--verbose/s,
      start: /partyhouse start \[entry\].*--shutdown-grace.*PARTYHOUSE_METRICS_TOKEN/s,
      build: /partyhouse build \[entry\].*--out <dir>/s,
      init: /partyhouse init \[name\].*--no-install/s,
    };
    for (const [command, pattern] of Object.entries(want)) {
      const r = await runCli([command, "--help"], repoRoot);
      assert.equal(r.code, 0);
      assert.match(r.out, pattern);
    }
  });

  it("prints the version for -v and --version", async () => {
    for (const flag of ["-v", "--version"]) {
      const r = await runCli([flag], repoRoot);
      assert.equal(r.code, 0);
      assert.equal(r.out.trim(), version);
    }
  });
});
