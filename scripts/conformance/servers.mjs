/* global fetch */
// Starts `partykit dev` (the reference, from bench/node_modules) or `partyhouse dev` (the built CLI)
// on the conformance fixture, and stops them. Each runs in its own process group so a stop reaches
// workerd and esbuild under it.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { sleep } from "./clients.mjs";
export { freePort } from "../lib/netns.mjs";
import { freePort } from "../lib/netns.mjs";

const root = new URL("../../", import.meta.url).pathname;
export const fixtureDir = `${root}test/fixtures/compat`;
export const partykitBin = `${root}bench/node_modules/.bin/partykit`;
export const partyhouseBin = `${root}bin/partyhouse.js`;

/**
 * @param {"partykit" | "partyhouse"} kind
 * @param {{ port: number, persist: string, log?: (s: string) => void }} o  port 0: partyhouse picks
 * @returns {Promise<{ url: string, port: number, stop(): Promise<void>, output(): string }>}
 */
export async function startServer(kind, { port, persist, log = () => {} }) {
  let cmd, args;
  if (kind === "partykit") {
    if (!existsSync(partykitBin)) {
      throw new Error(`partykit is not installed: run \`npm install\` in ${root}bench`);
    }
    if (port === 0) port = await freePort();
    cmd = partykitBin;
    args = ["dev", "--port", String(port), "--persist", persist];
  } else {
    cmd = process.execPath;
    args = [partyhouseBin, "dev", "-p", String(port), "--persist", persist];
  }
  const child = spawn(cmd, args, {
    cwd: fixtureDir,
    env: { ...process.env, PARTYKIT_TELEMETRY: "0", NO_COLOR: "1", CI: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const onData = (d) => {
    output += d;
    log(String(d));
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((resolve) => child.once("exit", resolve));

  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} exited:\n${output.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${kind} did not start:\n${output.slice(-3000)}`);
    if (kind === "partyhouse" && port === 0) {
      const m = output.match(/listening on http:\/\/[\d.]+:(\d+)/);
      if (m) port = Number(m[1]);
    }
    if (port !== 0) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/__conformance_probe`);
        await res.arrayBuffer();
        if (res.status === 404) break;
      } catch {}
    }
    await sleep(200);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      const done = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
        await exited;
      }
      // workerd children may outlive the CLI for a moment; wait until the port is free again.
      for (let i = 0; i < 50; i++) {
        try {
          await fetch(`http://127.0.0.1:${port}/`);
          await sleep(100);
        } catch {
          break;
        }
      }
    },
  };
}
