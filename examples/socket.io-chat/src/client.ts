import { io } from "socket.io-client";
import type { Socket } from "socket.io-client";
import type { ChatMessage, ClientToServer, ServerToClient } from "./server";

// One chat per ?partyId=; ?transports=polling or ?transports=websocket forces a transport.
const params = new URLSearchParams(location.search);
const partyId = params.get("partyId") ?? "lobby";
const transports = params.get("transports")?.split(",") ?? ["polling", "websocket"];

const socket: Socket<ServerToClient, ClientToServer> = io({ query: { partyId }, transports });

const TYPING_TIMER_LENGTH = 400; // ms
const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const loginPage = $("#login");
const chatPage = $("#chat");
const usernameInput = $<HTMLInputElement>("#username");
const messageInput = $<HTMLInputElement>("#message");
const messages = $<HTMLUListElement>("#messages");
$("#party").textContent = partyId;

let username = "";
let typing = false;
let lastTypingTime = 0;

function log(text: string) {
  const li = document.createElement("li");
  li.className = "log";
  li.textContent = text;
  append(li);
}

function addMessage(data: { username: string; message: string }, extraClass = "") {
  const li = document.createElement("li");
  li.className = `message ${extraClass}`.trim();
  li.dataset.username = data.username;
  const who = document.createElement("span");
  who.className = "username";
  who.textContent = data.username;
  const body = document.createElement("span");
  body.className = "messageBody";
  body.textContent = data.message;
  li.append(who, body);
  append(li);
}

function append(li: HTMLLIElement) {
  messages.append(li);
  messages.scrollTop = messages.scrollHeight;
}

function participants(numUsers: number) {
  log(numUsers === 1 ? "there's 1 participant" : `there are ${numUsers} participants`);
}

function removeTyping(name: string) {
  for (const li of messages.querySelectorAll<HTMLLIElement>("li.typing")) {
    if (li.dataset.username === name) li.remove();
  }
}

function setUsername() {
  username = usernameInput.value.trim();
  if (!username) return;
  loginPage.hidden = true;
  chatPage.hidden = false;
  messageInput.focus();
  socket.emit("add user", username);
}

function sendMessage() {
  const message = messageInput.value.trim();
  if (!message || !socket.connected) return;
  messageInput.value = "";
  addMessage({ username, message });
  socket.emit("new message", message);
}

function updateTyping() {
  if (!socket.connected) return;
  if (!typing) {
    typing = true;
    socket.emit("typing");
  }
  lastTypingTime = Date.now();
  setTimeout(() => {
    if (Date.now() - lastTypingTime >= TYPING_TIMER_LENGTH && typing) {
      socket.emit("stop typing");
      typing = false;
    }
  }, TYPING_TIMER_LENGTH);
}

window.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  if (username) {
    sendMessage();
    socket.emit("stop typing");
    typing = false;
  } else {
    setUsername();
  }
});
messageInput.addEventListener("input", updateTyping);

socket.on("history", (history: ChatMessage[]) => {
  messages.replaceChildren();
  if (history.length > 0) log(`— ${history.length} earlier messages —`);
  for (const m of history) addMessage(m);
});
socket.on("login", (data) => {
  log(`Welcome to Socket.IO Chat (${partyId}, over ${socket.io.engine.transport.name})`);
  participants(data.numUsers);
});
socket.on("new message", (data) => addMessage(data));
socket.on("user joined", (data) => {
  log(`${data.username} joined`);
  participants(data.numUsers);
});
socket.on("user left", (data) => {
  log(`${data.username} left`);
  participants(data.numUsers);
  removeTyping(data.username);
});
socket.on("typing", (data) =>
  addMessage({ username: data.username, message: "is typing" }, "typing"),
);
socket.on("stop typing", (data) => removeTyping(data.username));
socket.on("disconnect", () => log("you have been disconnected"));
socket.io.on("reconnect", () => {
  log("you have been reconnected");
  if (username) socket.emit("add user", username);
});
