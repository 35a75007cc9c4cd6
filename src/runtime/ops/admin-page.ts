/**
 * The admin page (`GET /` on the admin listener): live rooms with connection counts, messages per
 * second over the last minutes, recent errors with codes, and one room's connections and storage
 * keys. Plain HTML and a small script polling `/stats`; nothing to build, nothing from the network.
 */
export const ADMIN_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<title>partyhouse admin</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  h2 { font-size: 1rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; min-width: 28rem; }
  th, td { text-align: left; padding: .25rem .75rem; border-bottom: 1px solid #ddd; }
  tr.room { cursor: pointer; }
  tr.room:hover { background: #f3f3ff; }
  #chart { border: 1px solid #ccc; background: #fafafa; }
  #chart polyline { fill: none; stroke: #3355cc; stroke-width: 2; }
  .code { font-family: ui-monospace, monospace; color: #a00; }
  .muted { color: #777; }
  #layout { display: grid; grid-template-columns: minmax(28rem, 1fr) minmax(20rem, 1fr); gap: 1.5rem; }
</style>
</head>
<body>
<h1>partyhouse <span id="state" class="muted"></span></h1>
<div id="layout">
  <section>
    <h2>Messages per second (last minutes): <span id="rate">0</span></h2>
    <svg id="chart" width="480" height="120" viewBox="0 0 480 120"><polyline id="line" points="" /></svg>
    <h2>Live rooms (<span id="room-count">0</span>)</h2>
    <table><thead><tr><th>party</th><th>room</th><th>state</th><th>connections</th></tr></thead>
      <tbody id="rooms"></tbody></table>
  </section>
  <section>
    <h2>Room <span id="room-name" class="muted">(click a room)</span></h2>
    <div id="room-detail"></div>
    <h2>Recent errors</h2>
    <ul id="errors"></ul>
  </section>
</div>
<script>
  const token = new URLSearchParams(location.search).get("token");
  const q = token ? "?token=" + encodeURIComponent(token) : "";
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  async function get(path) { const r = await fetch(path + q); if (!r.ok) throw new Error(path + ": " + r.status); return r.json(); }
  async function showRoom(party, room) {
    const info = await get("/rooms/" + party + "/" + room);
    document.getElementById("room-name").textContent = party + " / " + room + (info.live ? "" : " (not in memory)");
    const box = document.getElementById("room-detail");
    box.replaceChildren();
    box.append(el("h3", "Connections (" + info.connections.length + ")"));
    const conns = el("ul");
    for (const c of info.connections) conns.append(el("li", c.id + "  " + c.uri + (c.tags.length > 1 ? "  [" + c.tags.join(", ") + "]" : ""), "conn"));
    box.append(conns, el("h3", "Storage keys (" + info.keys.length + ")"));
    const keys = el("ul");
    for (const k of info.keys) keys.append(el("li", k, "key"));
    box.append(keys);
  }
  function chart(samples) {
    const max = Math.max(1, ...samples.map((s) => s.perSecond));
    const step = samples.length > 1 ? 480 / (samples.length - 1) : 0;
    const pts = samples.map((s, i) => (i * step).toFixed(1) + "," + (115 - (s.perSecond / max) * 105).toFixed(1));
    document.getElementById("line").setAttribute("points", pts.join(" "));
    const last = samples.at(-1);
    document.getElementById("rate").textContent = last ? last.perSecond.toFixed(1) : "0";
  }
  async function refresh() {
    try {
      const s = await get("/stats");
      document.getElementById("state").textContent = s.state;
      chart(s.samples);
      document.getElementById("room-count").textContent = s.rooms.length;
      const body = document.getElementById("rooms");
      body.replaceChildren();
      for (const r of s.rooms) {
        const tr = el("tr", undefined, "room");
        tr.dataset.party = r.party; tr.dataset.room = r.room;
        for (const v of [r.party, r.room, r.state, r.connections]) tr.append(el("td", String(v)));
        tr.addEventListener("click", () => showRoom(r.party, r.room));
        body.append(tr);
      }
      const errors = document.getElementById("errors");
      errors.replaceChildren();
      for (const e of s.errors.slice().reverse()) {
        const li = el("li");
        li.append(el("span", e.code, "code"), document.createTextNode(" " + (e.party ? e.party + "/" + e.room + ": " : "") + e.message), el("span", " " + e.time, "muted"));
        errors.append(li);
      }
    } catch (e) {
      document.getElementById("state").textContent = String(e);
    }
  }
  refresh();
  setInterval(refresh, 2000);
</script>
</body>
</html>
`;
