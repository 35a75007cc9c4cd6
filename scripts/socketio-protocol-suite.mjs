#!/usr/bin/env node
// Runs the official Socket.IO v5 protocol test suite against partyhouse, and against the
// standalone `socket.io` server for reference. The suite is not part of this repository: get it
// from the socket.io repository (docs/socket.io-protocol/v5-test-suite) and `npm ci` in it.
//
//   node scripts/socketio-protocol-suite.mjs serve [--port 3000] [--standalone]
//       starts the suite's fixture server (a partyhouse party by default) and waits
//   node scripts/socketio-protocol-suite.mjs run --suite <dir> [--standalone]
//       starts it on port 3000, runs `npx mocha test-suite.js` in <dir>, prints the counts
//
// The suite hard-codes http://localhost:3000, so the server listens on every address ("::",
// which also takes IPv4 on a dual-stack host) like `new Server(3000)` does.
import { spawn } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { register } from "tsx/esm/api";

register();
const { ProtocolParty, protocolOptions, protocolSetup } =
  await import("../test/socketio/fixtures/protocol-party.ts");
const { startPartyhouse } = await import("../src/runtime/start.ts");

const args = process.argv.slice(2);
const command = args[0];
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const port = Number(value("--port", "3000"));
const standalone = flag("--standalone");
const target = standalone ? "standalone socket.io" : "partyhouse";

async function listen() {
  if (standalone) {
    const { Server } = await import("socket.io");
    const http = createHttpServer();
    const io = new Server(http, { ...protocolOptions });
    protocolSetup(io);
    await new Promise((ok, fail) => http.once("error", fail).listen(port, "::", ok));
    return { close: () => io.close() };
  }
  const ph = await startPartyhouse({ parties: { main: ProtocolParty }, port, hostname: "::" });
  return { close: () => ph.close() };
}

if (command === "serve") {
  const server = await listen();
  console.log(`${target}: the protocol fixture listens on http://localhost:${port}/socket.io/`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} else if (command === "run") {
  const suite = resolve(value("--suite", "."));
  if (!existsSync(resolve(suite, "test-suite.js"))) {
    console.error(
      `no test-suite.js in ${suite}: pass --suite <socket.io>/docs/socket.io-protocol/v5-test-suite`,
    );
    process.exit(2);
  }
  if (port !== 3000) console.warn("the suite connects to port 3000 whatever --port says");
  const server = await listen();
  const mocha = spawn("npx", ["mocha", "--reporter", "spec", "test-suite.js"], {
    cwd: suite,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  mocha.stdout.on("data", (d) => {
    out += d;
    process.stdout.write(d);
  });
  const code = await new Promise((ok) => mocha.on("exit", ok));
  await server.close();
  const count = (re) => Number(out.match(re)?.[1] ?? 0);
  console.log(
    `\n${target}: ${count(/(\d+) passing/)} passing, ${count(/(\d+) failing/)} failing, ${count(/(\d+) pending/)} pending`,
  );
  process.exit(code ?? 1);
} else {
  console.error(
    "usage: socketio-protocol-suite.mjs serve|run [--suite <dir>] [--port 3000] [--standalone]",
  );
  process.exit(2);
}
