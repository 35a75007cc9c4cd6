// The load generator: a child process driven over IPC by bench/run.mjs (or the memory bench).
// It speaks WebSocket on raw `net` sockets (handshake by hand, frames built once, masked) and
// reads replies by walking frame headers, so it costs far less CPU than the servers it drives.
//
// Jobs: flood (echo as fast as possible), rate (echo at a fixed rate, latency), broadcast (one
// room, one sender, every member measures delivery latency), join (many rooms, cold start), hold
// (open idle connections and keep them; count what the server pushes to them).
import {
  CLOSE_FRAME,
  EIO_CONNECT,
  EIO_PONG,
  FrameReader,
  FrameTemplate,
  handshake,
  nowUs,
  pong,
  textPayload,
} from "./frames.mjs";
import { Histogram } from "./stats.mjs";

const send = (msg) => process.send?.(msg);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One client connection. `proto` "ws" is plain WebSocket; "eio" is Socket.IO over engine.io's
 * WebSocket transport (open packet, namespace connect, pings answered with pongs).
 */
class Client {
  constructor({ socket, listen }, proto, tsAt, onMessage) {
    this.socket = socket;
    this.proto = proto;
    this.onMessage = onMessage;
    this.now = 0;
    this.ready = proto === "ws";
    this.whenReady = null;
    this.reader = new FrameReader(tsAt, (opcode, len, ts, first) =>
      this.frame(opcode, len, ts, first),
    );
    socket.on("error", () => {});
    listen((buf, n) => {
      this.now = -1; // read the clock lazily, once per read
      this.reader.push(buf, n);
    });
  }

  clock() {
    if (this.now < 0) this.now = nowUs();
    return this.now;
  }

  frame(opcode, len, ts, first) {
    if (opcode === 0x9) {
      pong(this.socket);
      return;
    }
    if (opcode !== 0x1 && opcode !== 0x2) return;
    if (this.proto === "eio") {
      if (len === 1 && first === 50) {
        this.socket.write(EIO_PONG); // engine.io ping "2"
        return;
      }
      if (!this.ready) {
        if (first === 48)
          this.socket.write(EIO_CONNECT); // "0{…}" open → connect to "/"
        else if (first === 52) {
          this.ready = true; // "40{…}" namespace connected
          this.whenReady?.();
        }
        return;
      }
    }
    this.onMessage(this, ts);
  }

  waitReady() {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => (this.whenReady = resolve));
  }
}

async function connectAll(job, count, pathOf, tsAt, onMessage) {
  const clients = new Array(count);
  let next = 0;
  const concurrency = job.connectConcurrency ?? 100;
  const addrs = job.localAddresses ?? [];
  async function worker() {
    while (next < count) {
      const i = next++;
      const hs = await handshake({
        host: job.host,
        port: job.port,
        path: pathOf(i),
        ...(addrs.length > 0 ? { localAddress: addrs[i % addrs.length] } : {}),
      });
      const c = new Client(hs, job.proto ?? "ws", tsAt, onMessage);
      await c.waitReady();
      clients[i] = c;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return clients;
}

function payloadFor(job) {
  const size = job.payloadSize ?? 32;
  return job.proto === "eio" ? textPayload(size, '42["m","', '"]') : textPayload(size);
}

function cpuNow() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

/** Runs `warmupMs`, then measures for `durationMs`, telling the parent when the window opens. */
async function window(job, snapshot) {
  await sleep(job.warmupMs ?? 1000);
  const a = snapshot();
  const cpu0 = cpuNow();
  const t0 = nowUs();
  send({ type: "measure-start" });
  await sleep(job.durationMs);
  const b = snapshot();
  const seconds = (nowUs() - t0) / 1e6;
  send({ type: "measure-end" });
  return { a, b, seconds, loadgenCpu: (cpuNow() - cpu0) / 1e3 / seconds };
}

function closeAll(clients) {
  for (const c of clients) {
    if (!c) continue;
    c.socket.write(CLOSE_FRAME);
    c.socket.destroy();
  }
}

// ---- flood: every connection keeps `depth` batches of `batch` echoes in flight --------------------
async function flood(job) {
  const { payload } = payloadFor(job);
  const tpl = new FrameTemplate(payload);
  const batch = job.batch ?? 10;
  const depth = job.depth ?? 2;
  const chunk = tpl.repeat(batch);
  let received = 0;
  const counts = [];
  const clients = await connectAll(
    job,
    job.conns,
    (i) => job.path(i),
    -1,
    (c) => {
      received++;
      if (++counts[c.index] % batch === 0) c.socket.write(chunk);
    },
  );
  clients.forEach((c, i) => {
    c.index = i;
    counts[i] = 0;
  });
  for (const c of clients) for (let d = 0; d < depth; d++) c.socket.write(chunk);
  const w = await window(job, () => received);
  closeAll(clients);
  return { msgsPerSec: (w.b - w.a) / w.seconds, loadgenCpu: w.loadgenCpu };
}

// ---- rate: echo at a fixed total rate, latency from the timestamp each message carries ----------
async function rate(job) {
  const { payload, tsOffset } = payloadFor(job);
  const tpl = new FrameTemplate(payload, tsOffset);
  const hist = new Histogram();
  let measuring = false;
  let received = 0;
  const clients = await connectAll(
    job,
    job.conns,
    (i) => job.path(i),
    tsOffset,
    (c, ts) => {
      received++;
      if (measuring && ts >= 0) hist.record(c.clock() - ts);
    },
  );
  let sent = 0;
  let rr = 0;
  const start = nowUs();
  const timer = setInterval(() => {
    const now = nowUs();
    const due = Math.floor(((now - start) * job.rate) / 1e6) - sent;
    // Spread what is due this tick over the connections; one write per connection per tick.
    const n = clients.length;
    const per = Math.floor(due / n);
    let extra = due - per * n;
    if (due <= 0) return;
    for (let k = 0; k < n && (per > 0 || extra > 0); k++) {
      const c = clients[rr++ % n];
      const m = per + (extra > 0 ? 1 : 0);
      if (extra > 0) extra--;
      if (m === 0) continue;
      const buf = Buffer.allocUnsafe(tpl.length * m);
      for (let j = 0; j < m; j++) {
        tpl.frame.copy(buf, j * tpl.length);
        tpl.stamp(buf, j * tpl.length, now);
      }
      c.socket.write(buf);
    }
    sent += due;
  }, 1);
  const w = await window(job, () => {
    measuring = !measuring;
    return received;
  });
  clearInterval(timer);
  closeAll(clients);
  return {
    offered: job.rate,
    msgsPerSec: (w.b - w.a) / w.seconds,
    p50us: hist.percentile(50),
    p99us: hist.percentile(99),
    loadgenCpu: w.loadgenCpu,
  };
}

// ---- broadcast: one room, member 0 sends, everyone (sender included) receives -------------------
async function broadcast(job) {
  const { payload, tsOffset } = payloadFor(job);
  const tpl = new FrameTemplate(payload, tsOffset);
  const hist = new Histogram();
  let measuring = false;
  let delivered = 0;
  let inflight = 0;
  const windowSize = job.window ?? 4;
  let sender;
  const sendOne = () => {
    const buf = Buffer.from(tpl.frame);
    tpl.stamp(buf, 0, nowUs());
    sender.socket.write(buf);
  };
  const clients = await connectAll(
    job,
    job.members,
    () => job.path,
    tsOffset,
    (c, ts) => {
      delivered++;
      if (measuring && ts >= 0) hist.record(c.clock() - ts);
      if (c === sender && job.rate === undefined) {
        // Saturation mode: the sender's own copy coming back frees a slot in the window.
        inflight--;
        while (inflight < windowSize) {
          inflight++;
          sendOne();
        }
      }
    },
  );
  sender = clients[0];
  let timer;
  if (job.rate === undefined) {
    inflight = windowSize;
    for (let i = 0; i < windowSize; i++) sendOne();
  } else {
    let sent = 0;
    const start = nowUs();
    timer = setInterval(() => {
      const due = Math.floor(((nowUs() - start) * job.rate) / 1e6) - sent;
      for (let i = 0; i < due; i++) sendOne();
      sent += Math.max(0, due);
    }, 1);
  }
  const w = await window(job, () => {
    measuring = !measuring;
    return delivered;
  });
  if (timer) clearInterval(timer);
  closeAll(clients);
  return {
    members: job.members,
    offered: job.rate,
    deliveriesPerSec: (w.b - w.a) / w.seconds,
    p50us: job.rate === undefined ? undefined : hist.percentile(50),
    p99us: job.rate === undefined ? undefined : hist.percentile(99),
    loadgenCpu: w.loadgenCpu,
  };
}

// ---- join: `rooms` distinct rooms, each joined once; the party greets on connect -----------------
async function join(job) {
  const hist = new Histogram();
  let next = 0;
  let failures = 0;
  const cpu0 = cpuNow();
  const t0 = nowUs();
  send({ type: "measure-start" });
  // A runtime that falls over (workerd under 10,000 rooms) must not hold the run for hours: stop
  // taking rooms after `maxSeconds`, or once most attempts fail.
  const deadline = t0 + (job.maxSeconds ?? 60) * 1e6;
  let attempted = 0;
  const giveUp = () => nowUs() > deadline || (attempted >= 200 && failures > attempted / 2);
  async function worker() {
    while (next < job.rooms && !giveUp()) {
      const i = next++;
      attempted++;
      const started = nowUs();
      try {
        const hs = await handshake({
          host: job.host,
          port: job.port,
          path: job.path(i),
          timeoutMs: 10_000,
        });
        await new Promise((resolve) => {
          const timer = setTimeout(() => {
            failures++; // upgraded but never greeted
            hs.socket.destroy();
          }, 10_000);
          new Client(hs, "ws", -1, () => {
            clearTimeout(timer);
            hist.record(nowUs() - started);
            hs.socket.write(CLOSE_FRAME);
            hs.socket.end();
            resolve();
          });
          hs.socket.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      } catch {
        failures++;
      }
    }
  }
  await Promise.all(Array.from({ length: job.concurrency ?? 50 }, worker));
  const seconds = (nowUs() - t0) / 1e6;
  send({ type: "measure-end" });
  return {
    rooms: job.rooms,
    attempted,
    joined: hist.count,
    failures,
    joinsPerSec: hist.count / seconds,
    p50us: hist.percentile(50),
    p99us: hist.percentile(99),
    loadgenCpu: (cpuNow() - cpu0) / 1e3 / seconds,
  };
}

// ---- hold: open idle connections and keep them until told to close -----------------------------
let held = [];
let heldReceived = 0;
async function hold(job) {
  heldReceived = 0;
  held = await connectAll(
    job,
    job.conns,
    (i) => job.path(i),
    -1,
    () => {
      heldReceived++;
    },
  );
  return { held: held.length };
}

// ---- command: send one text message, time the first reply (storage runs) ------------------------
async function command(job) {
  const tpl = new FrameTemplate(job.message);
  let done;
  const replied = new Promise((r) => (done = r));
  const [c] = await connectAll(
    job,
    1,
    () => job.path(0),
    -1,
    () => done(nowUs()),
  );
  const t0 = nowUs();
  c.socket.write(tpl.frame);
  const t1 = await replied;
  closeAll([c]);
  return { ms: (t1 - t0) / 1e3 };
}

const jobs = { flood, rate, broadcast, join, hold, command };

process.on("message", async (msg) => {
  if (msg.type === "count") {
    send({ type: "count", received: heldReceived });
    return;
  }
  if (msg.type === "close") {
    closeAll(held);
    held = [];
    send({ type: "closed" });
    return;
  }
  if (msg.type !== "job") return;
  const job = msg.job;
  // Paths come as templates: "{i}" is the connection (or room) index.
  // "{room}" is the index modulo job.rooms (many connections per room).
  const template = job.path;
  // `offset` makes indices global when several load generators share one job.
  const rooms = job.rooms ?? 1;
  const offset = job.offset ?? 0;
  job.path = (i) =>
    template
      .replaceAll("{i}", String(offset + i))
      .replaceAll("{room}", String((offset + i) % rooms));
  if (job.kind === "broadcast") job.path = template;
  try {
    const result = await jobs[job.kind](job);
    send({ type: "result", result });
  } catch (e) {
    send({ type: "error", error: e instanceof Error ? e.stack : String(e) });
  }
});
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
