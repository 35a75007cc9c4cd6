import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import * as Y from "yjs";
import { onConnect } from "y-partykit";
// The package's types are CommonJS-shaped while Node loads its ESM build: a namespace import
// gives the class at `.default` under both views.
import * as providerModule from "y-partykit/provider";
import type * as Party from "../../src/server.js";
import { closeAll, serve, waitFor } from "../helpers.js";

type YPartyKitProvider = InstanceType<typeof providerModule.WebsocketProvider>;
type ProviderCtor = new (
  host: string,
  room: string,
  doc: Y.Doc,
  options?: { WebSocketPolyfill?: unknown },
) => YPartyKitProvider;
const YPartyKitProvider = (providerModule as unknown as { default: ProviderCtor }).default;

// y-partykit's provider reads the global WebSocket (Node 20 has none).
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const providers: YPartyKitProvider[] = [];
after(async () => {
  for (const p of providers) {
    p.destroy();
    // The provider leaves its Awareness (and that one's interval) to the caller.
    p.awareness.destroy();
  }
  await closeAll();
});

/** The y-partykit server, unmodified, on partyhouse connections and storage. */
class YDoc implements Party.Server {
  constructor(readonly room: Party.Room) {}
  onConnect(conn: Party.Connection) {
    return onConnect(conn as never, this.room as never, { persist: { mode: "snapshot" } });
  }
}

function provider(url: string, room: string, doc: Y.Doc): YPartyKitProvider {
  const p = new YPartyKitProvider(new URL(url).host, room, doc, {
    WebSocketPolyfill: WebSocket as never,
  });
  providers.push(p);
  return p;
}

describe("a library written for PartyKit: y-partykit", () => {
  it("syncs a Yjs document between two clients and restores its snapshot after a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ph-yjs-"));
    const storage = { kind: "sqlite" as const, path: join(dir, "state.sqlite3") };
    const ph = await serve({ parties: { main: YDoc }, storage });
    const a = new Y.Doc();
    const b = new Y.Doc();
    const pa = provider(ph.url, "doc-1", a);
    const pb = provider(ph.url, "doc-1", b);
    await waitFor(() => pa.synced && pb.synced, 10000, "both synced");
    a.getText("t").insert(0, "hello from a");
    await waitFor(() => b.getText("t").toString() === "hello from a", 10000, "b sees a's edit");
    b.getText("t").insert(0, ">> ");
    await waitFor(() => a.getText("t").toString() === ">> hello from a", 10000, "a sees b's edit");
    pa.destroy();
    pb.destroy();
    // The snapshot is written when the last connection leaves.
    await waitFor(
      async () => (await (await ph.inspect.storage("main", "doc-1")).list()).size > 0,
      10000,
      "snapshot stored",
    );
    await ph.close();

    const again = await serve({ parties: { main: YDoc }, storage });
    const c = new Y.Doc();
    const pc = provider(again.url, "doc-1", c);
    await waitFor(() => pc.synced, 10000, "synced after restart");
    await waitFor(() => c.getText("t").toString() === ">> hello from a", 10000, "restored");
    assert.equal(c.getText("t").toString(), ">> hello from a");
  });
});
