// Medians over rounds, ratios to the baseline peer, the targets, and the Markdown table
// and SVG chart written next to the JSON results.
import { median } from "./stats.mjs";

/** Table rows: which field of which scenario, how to show it, and which peer it is compared to. */
export const ROWS = [
  { s: "flood", f: "msgsPerSec", label: "echo flood, 100 conns: msg/s", unit: "rate", base: "ws" },
  { s: "flood", f: "serverCpu", label: "… server CPU (cores)", unit: "cpu" },
  { s: "flood", f: "loadgenCpu", label: "… load generator CPU (cores)", unit: "cpu" },
  { s: "rate10k", f: "p50us", label: "echo at 10k msg/s: p50", unit: "us", base: "ws" },
  { s: "rate10k", f: "p99us", label: "echo at 10k msg/s: p99", unit: "us", base: "ws" },
  { s: "rate20k", f: "p50us", label: "echo at 20k msg/s: p50", unit: "us", base: "ws" },
  { s: "rate20k", f: "p99us", label: "echo at 20k msg/s: p99", unit: "us", base: "ws" },
  {
    s: "bcmax100",
    f: "deliveriesPerSec",
    label: "broadcast to 100, max: deliveries/s",
    unit: "rate",
    base: "ws",
  },
  {
    s: "bcmax1000",
    f: "deliveriesPerSec",
    label: "broadcast to 1,000, max: deliveries/s",
    unit: "rate",
    base: "ws",
  },
  { s: "bcmax1000", f: "serverCpu", label: "… server CPU (cores)", unit: "cpu" },
  { s: "bcmax1000", f: "loadgenCpu", label: "… load generator CPU (cores)", unit: "cpu" },
  {
    s: "bcrate100",
    f: "deliveriesPerSec",
    label: "broadcast to 100 at 1k msg/s: deliveries/s",
    unit: "rate",
    base: "ws",
  },
  {
    s: "bcrate100",
    f: "p99us",
    label: "broadcast to 100 at 1k msg/s: p99",
    unit: "us",
    base: "ws",
  },
  {
    s: "bcrate1000",
    f: "deliveriesPerSec",
    label: "broadcast to 1,000 at 100 msg/s: deliveries/s",
    unit: "rate",
    base: "ws",
  },
  {
    s: "bcrate1000",
    f: "p99us",
    label: "broadcast to 1,000 at 100 msg/s: p99",
    unit: "us",
    base: "ws",
  },
  {
    s: "join",
    f: "joinsPerSec",
    label: "new rooms joined over the network: joins/s",
    unit: "rate",
    base: "ws",
  },
  { s: "join", f: "p50us", label: "… join (cold room) p50", unit: "us", base: "ws" },
  { s: "join", f: "p99us", label: "… join (cold room) p99", unit: "us", base: "ws" },
  { s: "coldstart", f: "p50ms", label: "room cold start in-process, no storage: p50", unit: "ms" },
  { s: "coldstart", f: "p99ms", label: "room cold start in-process, no storage: p99", unit: "ms" },
  ...[
    ["workers", "100 rooms × 1 conn"],
    ["workersshared", "101 rooms × 2 conns"],
  ].flatMap(([s, what]) => [
    {
      s,
      f: "msgsPerSec",
      label: `--workers N, echo flood, ${what}: msg/s`,
      unit: "rate",
      base: "partyhouse-w1",
    },
    { s, f: "serverCpu", label: "… server CPU (cores, all workers)", unit: "cpu" },
    {
      s,
      f: "msgsPerCoreSec",
      label: "… msg/s per server core",
      unit: "rate",
      base: "partyhouse-w1",
    },
  ]),
  { s: "forward", f: "directP50us", label: "echo straight to the owner node: p50", unit: "us" },
  { s: "forward", f: "directP99us", label: "… p99", unit: "us" },
  { s: "forward", f: "viaP50us", label: "echo through a forwarding node: p50", unit: "us" },
  { s: "forward", f: "viaP99us", label: "… p99", unit: "us" },
  { s: "forward", f: "addedP50us", label: "forwarded hop: added at p50", unit: "us" },
  { s: "forward", f: "addedP99us", label: "forwarded hop: added at p99", unit: "us" },
  {
    s: "forward",
    f: "forwarderCpuUsPerMessage",
    label: "forwarded hop: forwarding node's CPU per message",
    unit: "us",
  },
  {
    s: "failover",
    f: "leaseMs",
    label: "failover (kill -9 of the owner): lease",
    unit: "duration",
  },
  {
    s: "failover",
    f: "leaseLeftAtKillMs",
    label: "… lease left in the database at the kill",
    unit: "duration",
  },
  {
    s: "failover",
    f: "p50ms",
    label: "… kill to first ack on the new owner: p50",
    unit: "duration",
  },
  { s: "failover", f: "p99ms", label: "… p99", unit: "duration" },
  { s: "failover", f: "maxms", label: "… max", unit: "duration" },
  {
    s: "failover",
    f: "ackedBeforeKill",
    label: "… writes acknowledged before the kill",
    unit: "count",
  },
  { s: "failover", f: "lost", label: "… of them lost", unit: "count" },
  { s: "memory", f: "heapPerConn", label: "idle connection: heap", unit: "bytes", base: "ws" },
  { s: "memory", f: "rssPerConn", label: "idle connection: RSS", unit: "bytes", base: "ws" },
  {
    s: "storage",
    f: "awaitedPerSec",
    label: "storage put, awaited one by one: puts/s",
    unit: "rate",
  },
  {
    s: "storage",
    f: "burstPerSec",
    label: "storage put, unawaited bursts of 100: puts/s",
    unit: "rate",
  },
  {
    s: "storage",
    f: "rmwPerSec",
    label: "storage read-modify-write (await get, await put): loops/s",
    unit: "rate",
  },
  {
    s: "storage",
    f: "gateDelayUs",
    label: "storage: p50 delay a write adds to the reply after it (output gate)",
    unit: "us",
  },
  {
    s: "sio",
    f: "msgsPerSec",
    label: "Socket.IO echo flood, 100 conns: msg/s",
    unit: "rate",
    base: "socketio",
  },
  { s: "sio", f: "serverCpu", label: "… server CPU (cores)", unit: "cpu" },
];

/**
 * The targets of issues 4, 5, 8 and 9. `check(m)` gets `m(scenario, field, peer)` (a median) and returns
 * { value, ok } or undefined when a figure is missing.
 */
export const TARGETS = [
  ratioTarget("echo throughput ≥ 90% of raw ws", "flood", "msgsPerSec", "partyhouse", "ws", 0.9),
  ratioTarget(
    "echo throughput ≥ 3× partykit dev",
    "flood",
    "msgsPerSec",
    "partyhouse",
    "partykit",
    3,
  ),
  ratioTarget(
    "echo throughput ≥ 3× wrangler dev + partyserver",
    "flood",
    "msgsPerSec",
    "partyhouse",
    "partyserver",
    3,
  ),
  ratioTarget(
    "broadcast (100) throughput ≥ 90% of raw ws",
    "bcmax100",
    "deliveriesPerSec",
    "partyhouse",
    "ws",
    0.9,
  ),
  ratioTarget(
    "broadcast (1,000) throughput ≥ 90% of raw ws",
    "bcmax1000",
    "deliveriesPerSec",
    "partyhouse",
    "ws",
    0.9,
  ),
  ratioTarget(
    "broadcast (100) throughput ≥ 3× partykit dev",
    "bcmax100",
    "deliveriesPerSec",
    "partyhouse",
    "partykit",
    3,
  ),
  ratioTarget(
    "broadcast (100) throughput ≥ 3× wrangler dev + partyserver",
    "bcmax100",
    "deliveriesPerSec",
    "partyhouse",
    "partyserver",
    3,
  ),
  {
    label: "p99 at 10k msg/s ≤ 2× raw ws",
    check: (m) =>
      ratio(m("rate10k", "p99us", "partyhouse"), m("rate10k", "p99us", "ws"), (r) => r <= 2),
  },
  ratioTarget(
    "Socket.IO backend ≥ 90% of standalone socket.io",
    "sio",
    "msgsPerSec",
    "partyhouse-sio",
    "socketio",
    0.9,
  ),
  {
    label: "room cold start p99 ≤ 1 ms in-process",
    check: (m) => limit(m("coldstart", "p99ms", "partyhouse"), 1, " ms"),
  },
  {
    label: "≤ 6 KB heap per idle connection",
    check: (m) => limit(kb(m("memory", "heapPerConn", "partyhouse")), 6, " KB"),
  },
  {
    label: "≤ 12 KB RSS per idle connection (issue 5)",
    check: (m) => limit(kb(m("memory", "rssPerConn", "partyhouse")), 12, " KB"),
  },
  // Issue 8: storage with the gates, beside partykit dev in the same run.
  ratioTarget(
    "awaited puts/s on SQLite ≥ partykit dev",
    "storage",
    "awaitedPerSec",
    "partyhouse",
    "partykit",
    1,
  ),
  ratioTarget(
    "unawaited bursts on SQLite ≥ partykit dev",
    "storage",
    "burstPerSec",
    "partyhouse",
    "partykit",
    1,
  ),
  ratioTarget(
    "awaited puts/s on PostgreSQL ≥ 0.5× partykit dev",
    "storage",
    "awaitedPerSec",
    "partyhouse-pg",
    "partykit",
    0.5,
  ),
  // Issue 9: the distributed mode on PostgreSQL.
  {
    label: "forwarded hop adds ≤ 100 µs at p50 (loopback)",
    check: (m) => limit(m("forward", "addedP50us", "partyhouse"), 100, " µs"),
  },
  {
    label: "failover: kill -9 to first ack on the new owner ≤ lease + 2 s at p99",
    check: (m) => {
      const p99 = m("failover", "p99ms", "partyhouse");
      const lease = m("failover", "leaseMs", "partyhouse");
      if (p99 === undefined || lease === undefined) return undefined;
      return {
        value: `${format(p99, "duration")} (lease ${format(lease, "duration")})`,
        ok: p99 <= lease + 2000,
      };
    },
  },
  {
    label: "failover: no acknowledged write lost",
    check: (m) => {
      const lost = m("failover", "lost", "partyhouse");
      return lost === undefined ? undefined : { value: `${lost} lost`, ok: lost === 0 };
    },
  },
];

function kb(bytes) {
  return bytes === undefined ? undefined : bytes / 1024;
}
function ratio(a, b, ok) {
  if (a === undefined || b === undefined || b === 0) return undefined;
  const r = a / b;
  return { value: `${r.toFixed(2)}×`, ok: ok(r) };
}
function limit(v, max, unit) {
  return v === undefined
    ? undefined
    : { value: `${v.toFixed(v < 10 ? 2 : 1)}${unit}`, ok: v <= max };
}
function ratioTarget(label, s, f, peer, base, min) {
  return { label, check: (m) => ratio(m(s, f, peer), m(s, f, base), (r) => r >= min) };
}

/** Medians per scenario, field and peer, and the targets' outcomes. */
export function summarize(_scenarios, results) {
  const medians = {};
  for (const [s, byPeer] of Object.entries(results)) {
    for (const [peer, runs] of Object.entries(byPeer)) {
      const fields = new Set(runs.flatMap((r) => Object.keys(r)));
      for (const f of fields) {
        const v = median(runs.map((r) => r[f]));
        if (v !== undefined) ((medians[s] ??= {})[f] ??= {})[peer] = v;
      }
    }
  }
  const m = (s, f, peer) => medians[s]?.[f]?.[peer];
  const targets = TARGETS.map((t) => ({
    label: t.label,
    ...(t.check(m) ?? { value: "not measured", ok: null }),
  }));
  return { medians, targets };
}

export function format(v, unit) {
  if (v === undefined) return "—";
  switch (unit) {
    case "rate":
      return v >= 1e6
        ? `${(v / 1e6).toFixed(2)}M`
        : v >= 1e4
          ? `${Math.round(v / 1e3)}k`
          : v >= 1e3
            ? `${(v / 1e3).toFixed(1)}k`
            : `${Math.round(v)}`;
    case "us":
      return v >= 1e6
        ? `${(v / 1e6).toFixed(2)} s`
        : v >= 1e3
          ? `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)} ms`
          : `${Math.round(v)} µs`;
    case "ms":
      return v >= 1 ? `${v.toFixed(2)} ms` : `${Math.round(v * 1000)} µs`;
    case "bytes":
      return `${(v / 1024).toFixed(2)} KB`;
    case "cpu":
      return v.toFixed(2);
    case "duration": // milliseconds, shown in s past one second
      return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
    case "count":
      return String(Math.round(v));
    default:
      return String(v);
  }
}

export function renderMarkdown(report) {
  const peers = Object.keys(report.peers);
  const { medians, targets } = report.summary;
  const lines = [];
  lines.push(
    `Run of ${report.startedAt} (${report.mode}, ${report.config.rounds} round${report.config.rounds > 1 ? "s" : ""}, ${report.seconds} s) on ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}. Medians over rounds; (×) is the ratio to the row's baseline (raw ws, or socket.io for Socket.IO rows).`,
    "",
  );
  lines.push(`| metric | ${peers.map((p) => report.peers[p]).join(" | ")} |`);
  lines.push(`|---|${peers.map(() => "---:").join("|")}|`);
  for (const row of ROWS) {
    const byPeer = medians[row.s]?.[row.f];
    if (byPeer === undefined) continue;
    const base = row.base ? byPeer[row.base] : undefined;
    const cells = peers.map((p) => {
      const v = byPeer[p];
      if (v === undefined) return "—";
      const r =
        base !== undefined && p !== row.base && base !== 0 ? ` (${(v / base).toFixed(2)}×)` : "";
      return format(v, row.unit) + r;
    });
    lines.push(`| ${row.label} | ${cells.join(" | ")} |`);
  }
  lines.push("", "| target | measured | met |", "|---|---:|:---:|");
  for (const t of targets)
    lines.push(
      `| ${t.label} | ${t.value} | ${t.ok === null ? "—" : t.ok ? "✅ met" : "❌ not met"} |`,
    );
  const failed = Object.entries(report.failures ?? {});
  if (failed.length > 0)
    lines.push("", "Failed measurements:", ...failed.map(([k, why]) => `- ${k}: ${why}`));
  const missing = Object.entries(report.unavailable);
  if (missing.length > 0) {
    lines.push(
      "",
      "Not measured:",
      ...missing.map(([p, why]) => `- ${report.peers[p] ?? p}: ${why}`),
    );
  }
  return lines.join("\n") + "\n";
}

// ---- SVG ---------------------------------------------------------------------------------------
const COLORS = {
  ws: "#7f7f7f",
  partyhouse: "#d62728",
  "partyhouse-pg": "#9467bd",
  partykit: "#1f77b4",
  partyserver: "#17becf",
  socketio: "#2ca02c",
  "partyhouse-sio": "#ff7f0e",
};
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");

function panel(y0, title, groups, peers, labels, scale) {
  const width = 900;
  const left = 260;
  const barH = 11;
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => v > 0);
  const max = Math.max(...values, 1e-9);
  const min = Math.min(...values, max);
  const lo = scale === "log" ? Math.log10(min) - 0.3 : 0;
  const hi = scale === "log" ? Math.log10(max) : max;
  const len = (v) => {
    const x = scale === "log" ? (Math.log10(v) - lo) / (hi - lo) : v / hi;
    return Math.max(2, x * (width - left - 120));
  };
  let y = y0 + 24;
  const out = [`<text x="10" y="${y0 + 14}" font-weight="bold">${esc(title)}</text>`];
  for (const g of groups) {
    const bars = g.bars.filter((b) => peers.includes(b.peer));
    if (bars.length === 0) continue;
    out.push(`<text x="10" y="${y + barH}" font-size="11">${esc(g.label)}</text>`);
    for (const b of bars) {
      out.push(
        `<rect x="${left}" y="${y}" width="${len(b.value).toFixed(1)}" height="${barH - 1}" fill="${COLORS[b.peer] ?? "#999"}"><title>${esc(labels[b.peer])}: ${esc(b.text)}</title></rect>`,
        `<text x="${left + len(b.value) + 4}" y="${y + barH - 2}" font-size="10">${esc(b.text)}</text>`,
      );
      y += barH;
    }
    y += 8;
  }
  return { svg: out.join("\n"), height: y - y0 + 6 };
}

export function renderSvg(report) {
  const peers = Object.keys(report.peers);
  const { medians } = report.summary;
  const group = (label, s, f, unit, baseline) => {
    const byPeer = medians[s]?.[f] ?? {};
    const base = baseline ? byPeer[baseline] : undefined;
    return {
      label,
      bars: peers
        .filter((p) => byPeer[p] !== undefined && byPeer[p] > 0)
        .map((p) => ({
          peer: p,
          value: base ? byPeer[p] / base : byPeer[p],
          text: format(byPeer[p], unit) + (base ? ` (${(byPeer[p] / base).toFixed(2)}×)` : ""),
        })),
    };
  };
  const panels = [
    [
      "Throughput relative to the baseline (raw ws; socket.io for Socket.IO) — longer is better",
      [
        group("echo flood msg/s", "flood", "msgsPerSec", "rate", "ws"),
        group("broadcast 100, deliveries/s", "bcmax100", "deliveriesPerSec", "rate", "ws"),
        group("broadcast 1,000, deliveries/s", "bcmax1000", "deliveriesPerSec", "rate", "ws"),
        group("new rooms joined/s", "join", "joinsPerSec", "rate", "ws"),
        group("Socket.IO echo msg/s", "sio", "msgsPerSec", "rate", "socketio"),
      ],
      "linear",
    ],
    [
      "p99 latency (log scale) — shorter is better",
      [
        group("echo at 10k msg/s", "rate10k", "p99us", "us"),
        group("echo at 20k msg/s", "rate20k", "p99us", "us"),
        group("broadcast 100 at 1k msg/s", "bcrate100", "p99us", "us"),
        group("broadcast 1,000 at 100 msg/s", "bcrate1000", "p99us", "us"),
        group("join a new room", "join", "p99us", "us"),
      ],
      "log",
    ],
    [
      "Memory per idle connection — shorter is better",
      [
        group("heap", "memory", "heapPerConn", "bytes"),
        group("RSS", "memory", "rssPerConn", "bytes"),
      ],
      "linear",
    ],
  ];
  let y = 30;
  const parts = [];
  for (const [title, groups, scale] of panels) {
    const p = panel(y, title, groups, peers, report.peers, scale);
    parts.push(p.svg);
    y += p.height;
  }
  let x = 10;
  const legend = peers
    .map((p) => {
      const item = `<rect x="${x}" y="${y}" width="10" height="10" fill="${COLORS[p]}"/><text x="${x + 14}" y="${y + 9}" font-size="11">${esc(report.peers[p])}</text>`;
      x += 30 + report.peers[p].length * 6.2;
      return item;
    })
    .join("\n");
  const height = y + 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="18" font-size="13">partyhouse benchmarks — ${esc(report.startedAt)} (${report.mode}), medians of ${report.config.rounds} round(s)</text>
${parts.join("\n")}
${legend}
</svg>
`;
}
