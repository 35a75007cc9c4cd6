// One node of the forwarding bench: `node forward-node.mjs [ownerUrl]`. Without an owner it owns
// every room; with one, the placement says every room belongs to that node, so each request and
// socket is forwarded there. Prints {"url": ...} once listening; SIGTERM stops it.
const { default: BenchParty } = await import("./party.js");
const { startPartyhouse } = await import("../../dist/runtime/start.js");

const owner = process.argv[2];
const placement = owner
  ? { locate: () => ({ kind: "remote", url: owner }), release() {} }
  : undefined;
const ph = await startPartyhouse({
  parties: { main: BenchParty },
  clusterSecret: "bench-secret",
  ...(placement ? { placement } : {}),
});
process.stdout.write(JSON.stringify({ url: ph.url }) + "\n");
process.once("SIGTERM", () => void ph.close().then(() => process.exit(0)));
