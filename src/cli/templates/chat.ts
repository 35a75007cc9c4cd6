/** What the scaffold depends on: specs computed by `init` for the machine it runs on. */
export interface TemplateDeps {
  partyhouse: string;
  partysocket: string;
  typescript: string;
}

/** The scaffold's package.json, for a new project. */
export function templatePackage(name: string, deps: TemplateDeps): Record<string, unknown> {
  return {
    name,
    private: true,
    type: "module",
    scripts: {
      dev: "partyhouse dev",
      build: "partyhouse build",
      start: "partyhouse start",
      typecheck: "tsc --noEmit",
    },
    dependencies: { partyhouse: deps.partyhouse, partysocket: deps.partysocket },
    devDependencies: { typescript: deps.typescript },
    // npm 11 runs install scripts only for packages listed here: partyhouse's native SQLite
    // binding and esbuild need theirs.
    allowScripts: { "better-sqlite3": true, esbuild: true },
  };
}

/**
 * The files `partyhouse init` writes besides package.json: a chat party with history in storage,
 * and its page. `paths` maps `partykit/server` to partyhouse's types, so the project type-checks
 * whether or not the `partykit` package is installed.
 */
export function templateFiles(name: string): Record<string, string> {
  return {
    "partykit.json":
      JSON.stringify(
        { name, main: "src/server.ts", serve: { path: "public", build: "src/client.ts" } },
        null,
        2,
      ) + "\n",
    ".gitignore": "node_modules\n.partykit\npublic/dist\n",
    "tsconfig.json":
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            module: "ESNext",
            moduleResolution: "Bundler",
            strict: true,
            lib: ["ES2022", "DOM"],
            skipLibCheck: true,
            noEmit: true,
            paths: {
              "partykit/server": ["./node_modules/partyhouse/dist/compat/partykit-server.d.ts"],
            },
          },
          include: ["src"],
        },
        null,
        2,
      ) + "\n",
    "src/server.ts": SERVER,
    "src/client.ts": CLIENT,
    "public/index.html": INDEX,
  };
}

const SERVER = `import type * as Party from "partykit/server";

type Message = { from: string; text: string; at: number };

/** A chat room: every message is broadcast and kept in the room's storage. */
export default class Chat implements Party.Server {
  messages: Message[] = [];

  constructor(readonly room: Party.Room) {}

  async onStart() {
    this.messages = (await this.room.storage.get<Message[]>("messages")) ?? [];
  }

  onConnect(conn: Party.Connection) {
    conn.send(JSON.stringify({ type: "history", messages: this.messages }));
  }

  async onMessage(raw: string | ArrayBuffer | ArrayBufferView, sender: Party.Connection) {
    if (typeof raw !== "string") return;
    const text = raw.slice(0, 1000);
    const message: Message = { from: sender.id, text, at: Date.now() };
    this.messages = [...this.messages, message].slice(-100);
    await this.room.storage.put("messages", this.messages);
    this.room.broadcast(JSON.stringify({ type: "message", message }));
  }
}
`;

const CLIENT = `import PartySocket from "partysocket";

type Message = { from: string; text: string; at: number };

const room = new URLSearchParams(location.search).get("room") ?? "lobby";
const socket = new PartySocket({ host: location.host, room });
const list = document.querySelector<HTMLUListElement>("#messages")!;
const form = document.querySelector<HTMLFormElement>("#form")!;
const input = document.querySelector<HTMLInputElement>("#input")!;

function show(m: Message) {
  const li = document.createElement("li");
  li.textContent = \`\${m.from.slice(0, 4)}: \${m.text}\`;
  list.append(li);
}

socket.addEventListener("message", (event) => {
  const data = JSON.parse(event.data);
  if (data.type === "history") {
    list.replaceChildren();
    data.messages.forEach(show);
  } else if (data.type === "message") show(data.message);
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (input.value.trim()) socket.send(input.value);
  input.value = "";
});
`;

const INDEX = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>partyhouse chat</title>
    <style>
      body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
      ul { list-style: none; padding: 0; }
    </style>
  </head>
  <body>
    <h1>Chat</h1>
    <ul id="messages"></ul>
    <form id="form"><input id="input" autocomplete="off" placeholder="Say something" /> <button>Send</button></form>
    <script type="module" src="/dist/client.js"></script>
  </body>
</html>
`;
