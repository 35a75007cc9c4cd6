import PartySocket from "partysocket";
import type { ChatMessage, ServerEvent } from "./server";

const params = new URLSearchParams(location.search);
const room = params.get("room") ?? "lobby";
const user = params.get("user") ?? `guest-${Math.floor(Math.random() * 1000)}`;

const socket = new PartySocket({ host: location.host, room });

const list = document.querySelector<HTMLUListElement>("#messages")!;
const form = document.querySelector<HTMLFormElement>("#compose")!;
const input = document.querySelector<HTMLInputElement>("#text")!;
const presence = document.querySelector<HTMLSpanElement>("#presence")!;
const status = document.querySelector<HTMLSpanElement>("#status")!;
document.querySelector("#room")!.textContent = room;

function render(message: ChatMessage) {
  const li = document.createElement("li");
  li.dataset.id = message.id;
  const who = document.createElement("b");
  who.textContent = `${message.user}: `;
  li.append(who, document.createTextNode(message.text));
  list.append(li);
}

socket.addEventListener("open", () => (status.textContent = "connected"));
socket.addEventListener("close", () => (status.textContent = "reconnecting…"));
socket.addEventListener("message", (event: MessageEvent<string>) => {
  const data = JSON.parse(event.data) as ServerEvent;
  if (data.type === "history") {
    list.replaceChildren();
    data.messages.forEach(render);
  } else if (data.type === "message") {
    render(data.message);
  } else if (data.type === "presence") {
    presence.textContent = String(data.count);
  }
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  socket.send(JSON.stringify({ user, text }));
  input.value = "";
});
