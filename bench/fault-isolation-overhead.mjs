/* global Request */
// What fault isolation costs per message: in one process, without the network, N messages are
// fed to an echo room through the room host, with `faultIsolation` on (every call into party
// code runs inside an AsyncLocalStorage scope) and off. Prints one JSON line.
// Usage: node bench/fault-isolation-overhead.mjs [messages]
const messages = Number(process.argv[2] ?? 2_000_000);
const { default: BenchParty } = await import("./servers/party.js");
const { startPartyhouse } = await import("../dist/runtime/start.js");

async function run(faultIsolation) {
  const ph = await startPartyhouse({ parties: { main: BenchParty }, faultIsolation });
  let echoed = 0;
  const socket = {
    send: () => echoed++,
    close() {},
    terminate() {},
    readyState: 1,
    bufferedAmount: 0,
    protocol: "",
    extensions: "",
  };
  const sink = ph.host.connect(
    "main",
    "echo",
    socket,
    "c",
    new Request(`${ph.url}/parties/main/echo`),
  );
  while (ph.host.peekRoom("main", "echo")?.connections.size !== 1)
    await new Promise((r) => setTimeout(r, 1));
  for (let i = 0; i < 200_000; i++) sink.message("warm");
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) sink.message("x");
  const ns = Number(process.hrtime.bigint() - t0) / messages;
  await ph.close();
  if (echoed < messages) throw new Error("not every message was echoed");
  return ns;
}

const off = await run(false);
const on = await run(true);
console.log(
  JSON.stringify({ messages, nsPerMessageOff: off, nsPerMessageOn: on, overheadNs: on - off }),
);
