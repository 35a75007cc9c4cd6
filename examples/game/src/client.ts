import PartySocket from "partysocket";
import { WORLD } from "./protocol";
import type { Player, ServerMessage } from "./protocol";

const params = new URLSearchParams(location.search);
const socket = new PartySocket({
  host: location.host,
  room: params.get("room") ?? "arena",
  query: { name: params.get("name") ?? "" },
});

const players = new Map<string, Player>();
let me = "";
const canvas = document.querySelector<HTMLCanvasElement>("#board")!;
const list = document.querySelector<HTMLUListElement>("#players")!;
const ctx = canvas.getContext("2d")!;
const CELL = 32;
canvas.width = WORLD.width * CELL;
canvas.height = WORLD.height * CELL;

function draw() {
  ctx.fillStyle = "#fafafa";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (const p of players.values()) {
    ctx.fillStyle = p.color;
    ctx.fillRect(p.x * CELL + 2, p.y * CELL + 2, CELL - 4, CELL - 4);
    if (p.id === me) {
      ctx.strokeStyle = "#000";
      ctx.strokeRect(p.x * CELL + 1, p.y * CELL + 1, CELL - 2, CELL - 2);
    }
  }
  list.replaceChildren(
    ...[...players.values()].map((p) => {
      const li = document.createElement("li");
      li.textContent = `${p.name}${p.id === me ? " (you)" : ""} — ${p.x},${p.y}`;
      li.style.color = p.color;
      return li;
    }),
  );
}

socket.addEventListener("message", (event: MessageEvent<string>) => {
  const msg = JSON.parse(event.data) as ServerMessage;
  switch (msg.type) {
    case "welcome":
      me = msg.you;
      players.clear();
      for (const p of msg.players) players.set(p.id, p);
      break;
    case "joined":
      players.set(msg.player.id, msg.player);
      break;
    case "moved": {
      const p = players.get(msg.id);
      if (p) Object.assign(p, { x: msg.x, y: msg.y });
      break;
    }
    case "renamed": {
      const p = players.get(msg.id);
      if (p) p.name = msg.name;
      break;
    }
    case "left":
      players.delete(msg.id);
      break;
  }
  draw();
});

const keys: Record<string, [number, number]> = {
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
};
window.addEventListener("keydown", (e) => {
  const d = keys[e.key];
  if (!d) return;
  e.preventDefault();
  socket.send(JSON.stringify({ type: "move", dx: d[0], dy: d[1] }));
});
draw();
