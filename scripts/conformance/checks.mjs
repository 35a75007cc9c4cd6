/* global fetch */
// The checks: each one does what a user's client would do against the fixture in
// test/fixtures/compat and returns what that client observed, as plain JSON. The runner
// normalizes hosts, ports and random ids, so results from two servers compare as they are.
import WebSocket from "ws";
import PartySocket from "partysocket";
import { sleep } from "./clients.mjs";

/** @typedef {import("./clients.mjs").Target} Target */
/** @type {Array<{ name: string, phase: 1 | 2, run: (t: Target, state: Record<string, any>) => Promise<unknown> }>} */
export const checks = [];
const check = (name, run, phase = 1) => checks.push({ name, run, phase });

const get = (t, path, pick) => t.http(path, { pick });

// ---- routing -------------------------------------------------------------------------------------

check("routing.http.parties", (t) => get(t, "/parties/main/r-http"));
check("routing.http.legacy-party", (t) => get(t, "/party/r-legacy"));
check("routing.http.subpath", (t) => get(t, "/parties/main/r-sub/echo?x=1&y=%20"));
check("routing.http.legacy-subpath", (t) => get(t, "/party/r-legacy/echo?z=1"));
for (const [name, room] of [
  ["space", "hello%20world"],
  ["slash", "a%2Fb"],
  ["slash-lowercase", "a%2fb"],
  ["unicode", "caf%C3%A9"],
  ["plus-colon-at", "a+b:c@d"],
  ["dots", "a.b..c"],
  ["percent", "100%25"],
]) {
  check(`routing.room-id.${name}`, async (t) => {
    const r = await get(t, `/parties/main/${room}/info`);
    return { status: r.status, id: r.body.id };
  });
}
check("routing.room-id.unicode-unescaped-raw", async (t) => {
  const r = await t.raw("/parties/main/caf\u00e9/info");
  return { status: r.status, id: r.body?.id ?? r.body };
});
check("routing.room-id.long", async (t) => {
  const out = {};
  for (const n of [500, 600, 3000]) {
    const r = await get(t, `/parties/main/${"r".repeat(n)}/info`);
    out[n] = { status: r.status, idLength: r.body?.id?.length ?? null };
  }
  return out;
});
check("routing.raw.dot-segments", async (t) => {
  const r = await t.raw("/parties/main/x/../y/info");
  return { status: r.status, id: r.body?.id ?? r.body };
});
check("routing.raw.double-slash-after-room", async (t) => {
  const r = await t.raw("/parties/main/dbl//echo");
  return { status: r.status, pathname: r.body?.pathname ?? r.body };
});
check("routing.empty-room", (t) => get(t, "/parties/main/"));
check("routing.no-room", (t) => get(t, "/parties/main"));
check("routing.legacy-empty-room", (t) => get(t, "/party/"));
check("routing.empty-party", (t) => get(t, "/parties//r"));
check("routing.unknown-party.http", (t) => get(t, "/parties/nope/r"));
check("routing.unknown-party.post", (t) =>
  t.http("/parties/nope/r", { method: "POST", body: "x" }),
);
check("routing.unknown-party.ws", (t) => t.ws("/parties/nope/r").outcome());
check("routing.case-sensitive", (t) => get(t, "/PARTIES/main/r"));
check("routing.ws.parties", (t) => t.ws("/parties/main/r-ws?_pk=abc").outcome(500));
check("routing.ws.legacy", (t) => t.ws("/party/r-ws-legacy?_pk=leg").outcome(500));
check("routing.ws.subpath", (t) => t.ws("/parties/main/r-ws/sub/path?x=1&_pk=sub").outcome(500));
check("routing.ws.escaped-room", (t) => t.ws("/parties/main/hello%20ws?_pk=e").outcome(500));
check("routing.ws.random-id", (t) => t.ws("/parties/main/r-ws-random").outcome(500));
check("routing.ws.empty-pk", (t) => t.ws("/parties/main/r-ws-empty?_pk=").outcome(500));
check("routing.ws.empty-room-goes-to-onSocket", (t) => t.ws("/parties/main/").outcome(500));
check("routing.ws.subprotocols", (t) =>
  t.ws("/parties/main/r-ws-proto?_pk=p", { protocols: ["chat", "v2"] }).outcome(500),
);
check("routing.ws.custom-header", (t) =>
  t.ws("/parties/main/r-ws-header?_pk=h", { headers: { "x-custom": "from client" } }).outcome(500),
);

// ---- lifecycle -----------------------------------------------------------------------------------

check("lifecycle.onStart.concurrent-requests", async (t) => {
  const all = await Promise.all([1, 2, 3].map(() => get(t, "/parties/main/r-start")));
  return {
    bodies: all.map((r) => ({ started: r.body.started, startCount: r.body.startCount })),
    events: (await get(t, "/parties/main/r-start/events")).body,
  };
});
check("lifecycle.onStart.before-onConnect", async (t) => {
  const s = t.ws("/parties/main/r-start-ws?_pk=s1");
  const hello = await s.next();
  await s.close();
  return { started: hello.started, events: (await get(t, "/parties/main/r-start-ws/events")).body };
});
check("lifecycle.onConnect.slow-then-message", async (t) => {
  const s = t.ws("/parties/main/r-slow?slow=1&_pk=slow");
  await s.opened;
  s.send("sent right after open");
  const got = await s.nextN(2);
  await s.close();
  return got.map((m) => (typeof m === "object" ? m.type : m));
});
check("lifecycle.blockConcurrencyWhile", async (t) => {
  const started = await get(t, "/parties/main/r-bcw/bcw");
  const events = await get(t, "/parties/main/r-bcw/events");
  return { started: started.body, events: events.body };
});
check("lifecycle.onStart-throws.http-first", (t) => get(t, "/parties/badstart/r1"));
check("lifecycle.onStart-throws.http-second", (t) => get(t, "/parties/badstart/r1"));
check("lifecycle.onStart-throws.ws-after", (t) => t.ws("/parties/badstart/r1").outcome());
check("lifecycle.onStart-throws.ws-first", (t) => t.ws("/parties/badstart/r2").outcome());
check("lifecycle.onStart-throws.http-after-ws", (t) => get(t, "/parties/badstart/r2"));
for (const room of ["boom", "async", "string", "empty", "long"]) {
  check(`lifecycle.onConnect-throws.${room}`, (t) => t.ws(`/parties/badconnect/${room}`).outcome());
}
check("lifecycle.onConnect-throws.room-still-serves", async (t) => ({
  http: await get(t, "/parties/badconnect/boom"),
  ws: await t.ws("/parties/badconnect/ok").outcome(500),
}));
check("lifecycle.no-onRequest.get", (t) => get(t, "/parties/norequest/r"));
check("lifecycle.no-onRequest.post", (t) =>
  t.http("/parties/norequest/r", { method: "POST", body: "x" }),
);
check("lifecycle.no-onRequest.ws-works", (t) => t.ws("/parties/norequest/r").outcome(500));
check("lifecycle.no-socket-handlers.ws", (t) => t.ws("/parties/nohandlers/r").outcome(1000, 1500));
check("lifecycle.no-socket-handlers.http", (t) => get(t, "/parties/nohandlers/r"));
check("lifecycle.no-socket-handlers.listen-only-feed", async (t) => {
  const s = t.ws("/parties/nohandlers/feed?_pk=listener");
  await s.opened;
  s.send("ignored by the party");
  await sleep(200);
  const res = await t.http("/parties/nohandlers/feed", { method: "POST", body: "pushed" });
  const got = await s.next(2000);
  const closedEarly = s.closeInfo;
  await s.close();
  return { res, got, closedEarly };
});

// ---- connections ---------------------------------------------------------------------------------

/** Opens clients in one room, each with its hello consumed. */
async function clients(t, room, specs) {
  const out = [];
  for (const spec of specs) {
    const s = t.ws(`/parties/main/${room}?${spec}`);
    await s.next();
    out.push(s);
  }
  return out;
}
const closeAll = (list) => Promise.all(list.map((s) => s.close()));

check("conn.text", async (t) => {
  const [a] = await clients(t, "c-text", ["_pk=a"]);
  a.send("hello");
  const m = await a.next();
  await a.close();
  return m;
});
check("conn.binary", async (t) => {
  const [a] = await clients(t, "c-bin", ["_pk=a"]);
  a.send(Buffer.from([1, 2, 3, 255]));
  const got = await a.nextN(2);
  await a.close();
  return got;
});
check("conn.order", async (t) => {
  const [a] = await clients(t, "c-order", ["_pk=a"]);
  for (let i = 0; i < 50; i++) a.send(`m${i}`);
  const got = await a.nextN(50);
  await a.close();
  return got.every((m, i) => m === `echo: m${i}`);
});
check("conn.large-message", async (t) => {
  const [a] = await clients(t, "c-large", ["_pk=a"]);
  const sizes = {};
  for (const mb of [0.5, 1.5, 8]) {
    a.send("x".repeat(mb * 1024 * 1024));
    const m = await a.next(5000);
    // The close reason is the runtime's own diagnostic (workerd names the sizes): not compared.
    sizes[mb] = typeof m === "string" ? m.length : m.closed ? { closeCode: m.closed.code } : m;
    if (a.closeInfo) break;
  }
  await a.close();
  return sizes;
});
check("conn.broadcast.without-sender", async (t) => {
  const [a, b, c] = await clients(t, "c-bc", ["_pk=a", "_pk=b", "_pk=c"]);
  a.send({ cmd: "broadcast", text: "hi all", without: ["a"] });
  const r = { a: await a.next(), b: await b.next(), c: await c.next(), aMore: await a.drain() };
  await closeAll([a, b, c]);
  return r;
});
check("conn.broadcast.without-two", async (t) => {
  const [a, b, c] = await clients(t, "c-bc2", ["_pk=a", "_pk=b", "_pk=c"]);
  a.send({ cmd: "broadcast", text: "only c", without: ["a", "b"] });
  const r = { a: await a.next(), c: await c.next(), bMore: await b.drain() };
  await closeAll([a, b, c]);
  return r;
});
check("conn.broadcast.everyone", async (t) => {
  const [a, b] = await clients(t, "c-bc3", ["_pk=a", "_pk=b"]);
  a.send({ cmd: "broadcast", text: "to everyone" });
  const r = { a: await a.nextN(2), b: await b.next() };
  await closeAll([a, b]);
  return r;
});
check("conn.broadcast.binary", async (t) => {
  const [a, b] = await clients(t, "c-bc4", ["_pk=a", "_pk=b"]);
  a.send({ cmd: "broadcast-binary", without: ["a"] });
  const r = { a: await a.next(), b: await b.next() };
  await closeAll([a, b]);
  return r;
});
check("conn.broadcast.from-http", async (t) => {
  const [a, b] = await clients(t, "c-bc5", ["_pk=a", "_pk=b"]);
  const res = await t.http("/parties/main/c-bc5/broadcast", { method: "POST", body: "via http" });
  const r = { res, a: await a.next(), b: await b.next() };
  await closeAll([a, b]);
  return r;
});
check("conn.tags", async (t) => {
  const [a, b, c] = await clients(t, "c-tags", [
    "_pk=a&tag=red&tag=blue",
    "_pk=b&tag=red",
    "_pk=c",
  ]);
  const ask = async (tag) => {
    a.send({ cmd: "tag", tag });
    return (await a.next()).ids;
  };
  const r = {
    red: await ask("red"),
    blue: await ask("blue"),
    byId: await ask("c"),
    none: await ask("none"),
    all: await ask(undefined),
  };
  await closeAll([a, b, c]);
  return r;
});
check("conn.tags.unchecked-without-hibernation", async (t) => {
  // Tag limits belong to hibernation (Cloudflare's API); a plain room takes any tags.
  const many = Array.from({ length: 12 }, (_, i) => `tag=t${i}`).join("&");
  const s = t.ws(`/parties/main/c-tags2?_pk=a&${many}&tag=`);
  const hello = await s.next();
  s.send({ cmd: "tag", tag: "t11" });
  const t11 = await s.next();
  await s.close();
  return { hello: hello.type ?? hello, t11 };
});
check("conn.getConnection", async (t) => {
  const [a, b] = await clients(t, "c-get", ["_pk=a", "_pk=b"]);
  b.send({ cmd: "setState", value: { name: "bee" } });
  await b.next();
  a.send({ cmd: "get", id: "b" });
  const found = await a.next();
  a.send({ cmd: "get", id: "missing" });
  const missing = await a.next();
  await b.close();
  await sleep(200);
  a.send({ cmd: "get", id: "b" });
  const afterClose = (await a.nextN(2)).find((m) => m.type === "get");
  await a.close();
  return { found, missing, afterClose };
});
check("conn.state", async (t) => {
  const [a] = await clients(t, "c-state", ["_pk=a"]);
  const steps = [];
  for (const cmd of [
    { cmd: "setStateFn" },
    { cmd: "setStateFn" },
    { cmd: "setState", value: { replaced: true, list: [1, 2] } },
    { cmd: "setState", value: null },
    { cmd: "setState", value: "a string" },
  ]) {
    a.send(cmd);
    steps.push(await a.next());
  }
  await a.close();
  return steps;
});
check("conn.connections", async (t) => {
  const [a, b] = await clients(t, "c-conns", ["_pk=a", "_pk=b"]);
  a.send({ cmd: "connections" });
  const ws = await a.next();
  const http = await get(t, "/parties/main/c-conns/connections");
  await closeAll([a, b]);
  return { ws, http };
});
check("conn.onClose.client-closes", async (t) => {
  const [a, b] = await clients(t, "c-close", ["_pk=a", "_pk=b"]);
  await b.close(4001, "client bye");
  const m = await a.next();
  await a.close();
  return m;
});
check("conn.onClose.after-all-closed", async (t) => {
  const [a, b] = await clients(t, "c-close2", ["_pk=a", "_pk=b"]);
  await closeAll([a, b]);
  await sleep(300);
  return get(t, "/parties/main/c-close2/connections");
});
check("conn.server-close", async (t) => {
  const [a, b] = await clients(t, "c-sclose", ["_pk=a", "_pk=b"]);
  a.send({ cmd: "close" });
  const closed = await Promise.race([a.closed, sleep(3000).then(() => "timeout")]);
  const seenByB = await b.next(1500);
  await b.close();
  return { closed, seenByB };
});
check("conn.server-close-no-code", async (t) => {
  const [a] = await clients(t, "c-sclose2", ["_pk=a"]);
  a.send({ cmd: "close-plain" });
  return Promise.race([a.closed, sleep(3000).then(() => "timeout")]);
});
check("conn.onMessage-throws", async (t) => {
  const [a] = await clients(t, "c-throw", ["_pk=a"]);
  a.send({ cmd: "throw" });
  a.send("still there?");
  const m = await a.next();
  const closedByServer = a.closeInfo;
  await a.close();
  return { next: m, closedByServer };
});
check("conn.uri-and-id", async (t) => {
  const s = t.ws("/parties/main/c-uri/deep/path?_pk=the-id&foo=bar%20baz");
  const hello = await s.next();
  await s.close();
  return hello;
});
check("conn.invalid-utf8", async (t) => {
  const [watcher] = await clients(t, "c-utf8", ["_pk=watcher"]);
  const raw = await t.rawWs("/parties/main/c-utf8?_pk=bad");
  await raw.waitFor(() => raw.frames.length > 0);
  raw.frame(1, [0xff, 0xfe, 0xfd]);
  await raw.waitFor(() => raw.frames.some((f) => "close" in f) || raw.ended);
  const seen = await watcher.drain(500);
  raw.destroy();
  await watcher.close();
  return {
    handshake: raw.handshake,
    frames: raw.frames.map((f) => ("text" in f ? { text: f.text.type ?? f.text } : f)),
    watcherSaw: seen.map((m) => ({ type: m.type, id: m.id })),
  };
});

/** A frame with RSV1 set although no extension was negotiated (RFC 6455 section 5.2). */
async function malformedFrame(t, party, room) {
  const watcher = t.ws(`/parties/${party}/${room}?_pk=watcher`);
  await watcher.next();
  const raw = await t.rawWs(`/parties/${party}/${room}?_pk=bad`);
  await raw.waitFor(() => raw.frames.length > 0);
  raw.socket.write(Buffer.from([0xc1, 0x82, 0, 0, 0, 0, 0x68, 0x69]));
  await raw.waitFor(() => raw.frames.some((f) => "close" in f) || raw.ended);
  const seen = await watcher.drain(500);
  raw.destroy();
  await watcher.close();
  // The close reason is the runtime's own wording (workerd's sentence, ws's none): not compared.
  return {
    closeCode: raw.frames.find((f) => "close" in f)?.close ?? null,
    watcherSaw: seen.map((m) => ({ type: m.type, id: m.id })),
  };
}
check("conn.malformed-frame", (t) => malformedFrame(t, "main", "c-rsv"));
check("hib.malformed-frame", (t) => malformedFrame(t, "hib", "h-rsv"));

// ---- onRequest -----------------------------------------------------------------------------------

const R = "/parties/main/r-req";
check("http.get", (t) => get(t, `${R}/echo?a=1&b=two`));
check("http.post.text", (t) =>
  t.http(`${R}/echo`, {
    method: "POST",
    body: "plain body",
    headers: { "content-type": "text/plain", "x-custom": "yes" },
  }),
);
check("http.post.json", (t) =>
  t.http(`${R}/echo`, {
    method: "POST",
    body: JSON.stringify({ a: [1, 2] }),
    headers: { "content-type": "application/json" },
  }),
);
check("http.post.binary", (t) =>
  t.http(`${R}/echo`, { method: "POST", body: new Uint8Array([0, 1, 2, 250]) }),
);
check("http.post.large", async (t) => {
  const r = await t.http(`${R}/echo`, { method: "POST", body: "x".repeat(1024 * 1024) });
  return { status: r.status, bodyLength: r.body.bodyLength };
});
for (const method of ["PUT", "PATCH", "DELETE"]) {
  check(`http.${method.toLowerCase()}`, (t) =>
    t.http(`${R}/echo`, { method, body: `${method} body` }),
  );
}
check("http.head", (t) => t.http(`${R}/echo`, { method: "HEAD", pick: ["content-type"] }));
check("http.options", (t) => t.http(`${R}/echo`, { method: "OPTIONS" }));
// workerd rewrites Accept-Encoding for its own response compression: not compared.
const withoutAcceptEncoding = ({ status, body }) => {
  const { "accept-encoding": _, ...rest } = body;
  return { status, body: rest };
};
check("http.request-headers", async (t) =>
  withoutAcceptEncoding(
    await t.http(`${R}/request-headers`, {
      headers: { "x-custom": "yes", "user-agent": "conformance", accept: "*/*" },
    }),
  ),
);
check("http.request-headers.raw", async (t) =>
  withoutAcceptEncoding(
    await t.raw(`${R}/request-headers`, { headers: { "X-Mixed-Case": "v", Cookie: "a=1; b=2" } }),
  ),
);
// Transport headers (compression, framing, keep-alive) and partyhouse's cache validators for
// assets (ETag, Last-Modified, Cache-Control) are not compared; the rest of the set is.
const TRANSPORT = new Set([
  "date",
  "content-encoding",
  "transfer-encoding",
  "content-length",
  "connection",
  "keep-alive",
  "etag",
  "last-modified",
  "cache-control",
]);
check("http.response-header-names", async (t) => {
  const names = async (path) => {
    const res = await fetch(t.base + path);
    await res.arrayBuffer();
    return [...res.headers.keys()].filter((h) => !TRANSPORT.has(h)).sort();
  };
  return {
    onRequest: await names(`${R}/json`),
    asset: await names("/style.css"),
    notFound: await names("/nope"),
    onFetch: await names("/fetch/echo"),
  };
});
check("http.response.json", (t) => get(t, `${R}/json`, ["content-type"]));
check("http.response.redirect", (t) => get(t, `${R}/redirect`, ["location"]));
check("http.response.headers", (t) => get(t, `${R}/headers`, ["x-custom-out", "cache-control"]));
for (const code of ["201", "204", "404", "503"]) {
  check(`http.status.${code}`, async (t) => {
    const res = await fetch(`${t.base}${R}/status/${code}`);
    return { status: res.status, statusText: res.statusText, body: await res.text() };
  });
}
check("http.throw", (t) => get(t, `${R}/throw`, ["content-type"]));
check("http.throw-with-code", (t) => get(t, `${R}/throw-code`));
check("http.throw-empty-message", (t) => get(t, `${R}/throw-empty`));
check("http.async-rejection", (t) => get(t, `${R}/reject`));
check("http.unknown-subpath", (t) => get(t, `${R}/no-such-thing`));
check("http.room-survives-throw", (t) => get(t, `${R}/echo`));

// ---- room ----------------------------------------------------------------------------------------

check("room.env", async (t) => (await get(t, "/parties/main/r-env/info")).body.env);
check("room.name-and-id", async (t) => {
  const { body } = await get(t, "/parties/main/r-name/info");
  return { id: body.id, name: body.name };
});
check("room.internalID", async (t) => {
  const a = (await get(t, "/parties/main/r-int/info")).body.internalID;
  const again = (await get(t, "/parties/main/r-int/info")).body.internalID;
  const b = (await get(t, "/parties/main/r-int2/info")).body.internalID;
  return {
    type: typeof a,
    hex64: /^[0-9a-f]{64}$/.test(a),
    stable: a === again,
    differsByRoom: a !== b,
  };
});
check("room.info-over-ws", async (t) => {
  const [a] = await clients(t, "r-ws-info", ["_pk=a"]);
  a.send({ cmd: "info" });
  const m = await a.next();
  await a.close();
  return m;
});

// ---- onBeforeConnect / onBeforeRequest -----------------------------------------------------------

for (const mode of [
  "deny",
  "deny-empty",
  "deny-string",
  "respond",
  "lobby",
  "rewrite",
  "rewrite-url",
  "nothing",
  "pass",
]) {
  check(`before.request.${mode}`, (t) =>
    get(t, `/parties/guarded/g1/path?mode=${mode}`, ["x-guard"]),
  );
  check(`before.connect.${mode}`, (t) =>
    t.ws(`/parties/guarded/g1?mode=${mode}&_pk=g`).outcome(500),
  );
}

// ---- onFetch, onSocket, onCron -------------------------------------------------------------------

check("fetch.echo", (t) => get(t, "/fetch/echo?q=1"));
check("fetch.post", (t) => t.http("/fetch/echo", { method: "POST", body: "x" }));
check("fetch.stub", (t) => get(t, "/fetch/stub"));
check("fetch.assets", (t) => get(t, "/fetch/assets"));
check("fetch.throw", (t) => get(t, "/fetch/throw"));
check("fetch.unhandled-404-page", (t) => get(t, "/not/a/thing", ["content-type"]));
check("fetch.unhandled-404-page-post", (t) =>
  t.http("/not/a/thing", { method: "POST", body: "x", pick: ["content-type"] }),
);
check("socket.onSocket", async (t) => {
  const s = t.ws("/some/socket/path");
  const hello = await s.next();
  s.send("ping");
  const echo = await s.next();
  await s.close();
  return { hello, echo };
});
check("cron.run", async (t) => {
  const r = await get(t, "/__scheduled__?cron=yearly");
  const log = await get(t, "/parties/store/cron-log/log");
  return { r, log: log.body };
});
check("cron.unknown-name", (t) => get(t, "/__scheduled__?cron=nope"));
check("cron.no-name", (t) => get(t, "/__scheduled__"));

// ---- static assets -------------------------------------------------------------------------------

const asset = (path, init) => (t) => t.http(path, { ...init, pick: ["content-type"] });
check("assets.root", asset("/"));
check("assets.index.html", asset("/index.html"));
check("assets.css", asset("/style.css"));
check("assets.js", asset("/app.js"));
check("assets.json", asset("/data.json"));
check("assets.svg", asset("/logo.svg"));
check("assets.txt", asset("/notes.txt"));
check("assets.subdir-slash", asset("/sub/"));
check("assets.subdir-no-slash", asset("/sub"));
check("assets.subdir-index", asset("/sub/index.html"));
check("assets.query-string", asset("/style.css?v=2"));
check("assets.escaped-slash", asset("/sub%2Findex.html"));
check("assets.404.html-direct", asset("/404.html"));
check("assets.missing", asset("/missing.css"));
check("assets.head", asset("/style.css", { method: "HEAD" }));
check("assets.post", asset("/style.css", { method: "POST", body: "x" }));

// ---- stubs ---------------------------------------------------------------------------------------

const S = "/parties/main/stubs";
check("stub.fetch", (t) => get(t, `${S}/stub-fetch`));
check("stub.fetch-no-args", (t) => get(t, `${S}/stub-fetch-noargs`));
check("stub.fetch-init-only", (t) => get(t, `${S}/stub-fetch-init`));
check("stub.fetch-bad-path", (t) => get(t, `${S}/stub-fetch-badpath`));
check("stub.fetch-room-with-space", (t) => get(t, `${S}/stub-fetch-escaped`));
check("stub.socket", (t) => get(t, `${S}/stub-socket`));
check("stub.socket-random-ids", (t) => get(t, `${S}/stub-socket-ids`));
check("stub.direct-request-runs-onBeforeRequest", (t) =>
  get(t, "/parties/other/stub-target/hello"),
);

// ---- storage and alarms --------------------------------------------------------------------------

for (const test of [
  "basic",
  "unawaited",
  "multi",
  "list",
  "clone",
  "clone-isolation",
  "txn",
  "deleteAll",
  "limits",
  "batch-limits",
  "bad-values",
  "lone-surrogate-key",
  "list-errors",
  "alarm-edges",
  "alarm-delete",
]) {
  check(`storage.${test}`, (t) => get(t, `/parties/store/s-${test}/${test}`));
}
check("alarm.fires", async (t, state) => {
  const set = await get(t, "/parties/store/alarm-room/alarm-set");
  let status;
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    status = (await get(t, "/parties/store/alarm-room/alarm-status")).body;
    if (status.fired.$ !== "undefined") break;
  }
  const { roomId, ...fired } = status.fired;
  state.alarmRoomId = roomId;
  return { set: set.body, fired, alarmAfter: status.alarmAfter };
});
check("alarm.room-id-in-onAlarm", async (_t, state) => state.alarmRoomId ?? null);

// ---- hibernation (class form, options.hibernate) -------------------------------------------------

async function hibClients(t, room, specs) {
  const out = [];
  for (const spec of specs) {
    const s = t.ws(`/parties/hib/${room}?${spec}`);
    out.push({ s, hello: await s.next() });
  }
  return out;
}
check("hib.hello", async (t) => {
  const [{ s, hello }] = await hibClients(t, "h-hello", ["_pk=h1"]);
  await s.close();
  return hello;
});
check("hib.state", async (t) => {
  const [{ s }] = await hibClients(t, "h-state", ["_pk=h1"]);
  const steps = [];
  for (const cmd of [
    { cmd: "setStateFn" },
    { cmd: "setStateFn" },
    { cmd: "setState", value: { replaced: true } },
  ]) {
    s.send(cmd);
    steps.push(await s.next());
  }
  await s.close();
  return steps;
});
check("hib.state-limits", async (t) => {
  const [{ s }] = await hibClients(t, "h-state2", ["_pk=h1"]);
  s.send({ cmd: "setState-errors" });
  const m = await s.next();
  await s.close();
  // The size in the message counts the uri, whose port differs by run.
  return { ...m, big: m.big?.replace(/\d+ bytes\.$/, "<n> bytes.") };
});
check("hib.tags-and-get", async (t) => {
  const [a, b] = await hibClients(t, "h-tags", ["_pk=a&tag=red&tag=blue", "_pk=b&tag=red"]);
  b.s.send({ cmd: "setState", value: { who: "b" } });
  await b.s.next();
  const ask = async (cmd) => {
    a.s.send(cmd);
    return a.s.next();
  };
  const r = {
    red: await ask({ cmd: "tag", tag: "red" }),
    blue: await ask({ cmd: "tag", tag: "blue" }),
    all: await ask({ cmd: "tag" }),
    getB: await ask({ cmd: "get", id: "b" }),
    getMissing: await ask({ cmd: "get", id: "zzz" }),
    connections: await ask({ cmd: "connections" }),
  };
  await b.s.close();
  r.closedSeenByA = await a.s.next();
  await a.s.close();
  return r;
});
check("hib.broadcast", async (t) => {
  const [a, b] = await hibClients(t, "h-bc", ["_pk=a", "_pk=b"]);
  a.s.send({ cmd: "broadcast" });
  const r = { a: await a.s.next(), b: await b.s.next() };
  await Promise.all([a.s.close(), b.s.close()]);
  return r;
});
check("hib.binary", async (t) => {
  const [a] = await hibClients(t, "h-bin", ["_pk=a"]);
  a.s.send(Buffer.from([9, 8, 7]));
  const m = await a.s.next();
  await a.s.close();
  return m;
});
check("hib.too-many-tags", (t) =>
  t
    .ws(`/parties/hib/h-many?_pk=m&${Array.from({ length: 10 }, (_, i) => `tag=t${i}`).join("&")}`)
    .outcome(),
);
check("hib.ten-tags-ok", (t) =>
  t
    .ws(`/parties/hib/h-ten?_pk=m&${Array.from({ length: 9 }, (_, i) => `tag=t${i}`).join("&")}`)
    .outcome(500),
);
check("hib.empty-tag", (t) => t.ws("/parties/hib/h-empty?_pk=m&tag=").outcome());
check("hib.long-tag", (t) => t.ws(`/parties/hib/h-long?_pk=m&tag=${"x".repeat(257)}`).outcome());

// ---- the legacy module-object form ----------------------------------------------------------------

check("legacy.http", (t) => t.http("/parties/legacy/l1/x", { method: "POST", body: "b" }));
check("legacy.ws", async (t) => {
  const a = t.ws("/parties/legacy/l1?_pk=a");
  const hello = await a.next();
  const b = t.ws("/parties/legacy/l1?_pk=b");
  await b.next();
  a.send("hi");
  const r = { hello, a: await a.next(), b: await b.next() };
  await Promise.all([a.close(), b.close()]);
  return r;
});
// A module with onMessage hibernates, so Cloudflare's tag rules apply to it: it has no tags of
// its own, but the connection id is one, and a 300-character id is over the 256 limit.
check("legacy.hibernates", (t) => t.ws(`/parties/legacy/l2?_pk=${"i".repeat(300)}`).outcome());

// ---- across a restart (phase 2 runs after the server restarted on the same port and state) ------

check("restart.setup", async (t, state) => {
  const written = await get(t, "/parties/store/persist/persist-write");
  const first = await get(t, "/parties/main/r-restart");
  const messages = [];
  const ps = new PartySocket({
    host: new URL(t.base).host,
    room: "ps-room",
    id: "ps-client",
    WebSocket,
    minReconnectionDelay: 100,
    maxReconnectionDelay: 500,
  });
  ps.addEventListener("message", (e) => messages.push(JSON.parse(e.data)));
  for (let i = 0; i < 100 && messages.length === 0; i++) await sleep(50);
  state.partysocket = { ps, messages };
  state.plain = t.ws("/parties/main/r-restart-plain?_pk=plain");
  await state.plain.next();
  return { written: written.body, startCount: first.body.startCount, hello: messages[0] };
});
check("restart.storage-survives", (t) => get(t, "/parties/store/persist/persist-read"), 2);
check(
  "restart.onStart-runs-again",
  async (t) => (await get(t, "/parties/main/r-restart")).body.startCount,
  2,
);
check("restart.close-code-seen-by-clients", async (_t, state) => state.plain.closeInfo, 2);
check(
  "restart.partysocket-reconnects",
  async (t, state) => {
    const { ps, messages } = state.partysocket;
    for (let i = 0; i < 200 && messages.length < 2; i++) await sleep(50);
    ps.close();
    return { hellos: messages.length, second: messages[1] };
  },
  2,
);
