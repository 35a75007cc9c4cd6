// Top functions by self time in a V8 .cpuprofile (from `node --cpu-prof`, or `npm run bench --
// --profile`, which writes bench/results/profiles/). Usage: node bench/profile-summary.mjs FILE [N]
import { readFileSync } from "node:fs";

const [file, count = "30"] = process.argv.slice(2);
if (!file) {
  console.error("usage: node bench/profile-summary.mjs FILE.cpuprofile [N]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const f = nodes.get(id).callFrame;
  const where = f.url ? ` ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}` : "";
  const key = `${f.functionName || "(anonymous)"}${where}`;
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
});
const busy = total - (self.get("(idle)") ?? 0);
console.log(
  `${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; self time as % of busy:`,
);
for (const [key, t] of [...self.entries()]
  .filter(([k]) => k !== "(idle)")
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(count))) {
  console.log(`${((100 * t) / busy).toFixed(1).padStart(5)}%  ${key}`);
}
