/**
 * `partyhouse list`, `info` and `tail`: PartyKit's commands of those names, with a self-hosted
 * meaning. They talk to a running server's admin listener (`start --admin-port <n>`).
 */
import type { ParsedCli } from "../config/cli-args.js";
import { errorMessage, PartyhouseError } from "../core/errors.js";

function adminUrl(cli: ParsedCli): string {
  const explicit = cli.admin.url ?? process.env["PARTYHOUSE_ADMIN_URL"];
  if (explicit) return explicit.replace(/\/+$/, "");
  const port = process.env["PARTYHOUSE_ADMIN_PORT"];
  if (!port) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `"partyhouse ${cli.command}" needs the admin listener: pass --admin http://127.0.0.1:<port> (the server's --admin-port) or set PARTYHOUSE_ADMIN_URL`,
    );
  }
  return `http://127.0.0.1:${port}`;
}

async function get(cli: ParsedCli, path: string): Promise<Response> {
  const url = adminUrl(cli) + path;
  const token = process.env["PARTYHOUSE_ADMIN_TOKEN"];
  let res: Response;
  try {
    res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  } catch (e) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `cannot reach the admin listener at ${url} (${errorMessage(e)}); is the server running with --admin-port?`,
    );
  }
  if (!res.ok) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `${url} answered ${res.status}: ${await res.text()}${res.status === 401 ? " (set PARTYHOUSE_ADMIN_TOKEN)" : ""}`,
    );
  }
  return res;
}

const say = (line: string): void => {
  process.stdout.write(line + "\n");
};

/** `partyhouse list`: the rooms of the running server. */
export async function runList(cli: ParsedCli): Promise<void> {
  const rooms = (await (await get(cli, "/rooms")).json()) as Array<{
    party: string;
    room: string;
    state: string;
    connections: number;
  }>;
  const shown = rooms.filter(
    (r) =>
      (cli.admin.party === undefined || r.party === cli.admin.party) &&
      (cli.admin.room === undefined || r.room === cli.admin.room),
  );
  if (cli.admin.format === "json") return say(JSON.stringify(shown));
  if (shown.length === 0) return say("no rooms");
  say(["party", "room", "state", "connections"].join("\t"));
  for (const r of shown) say([r.party, r.room, r.state, r.connections].join("\t"));
}

/** `partyhouse info <party> <room>`: one room's connections and storage keys. */
export async function runInfo(cli: ParsedCli): Promise<void> {
  const [party, room] = cli.admin.args;
  if (party === undefined || room === undefined || cli.admin.args.length > 2) {
    throw new PartyhouseError("PH_ERR_CONFIG", `usage: partyhouse info <party> <room>`);
  }
  const info = (await (await get(cli, `/rooms/${party}/${room}`)).json()) as {
    live: boolean;
    connections: Array<{ id: string; uri: string; tags: string[] }>;
    keys: string[];
  };
  if (cli.admin.format === "json") return say(JSON.stringify(info));
  say(`party ${party} room ${room}: ${info.live ? "live" : "not in memory"}`);
  say(`connections (${info.connections.length}):`);
  for (const c of info.connections) say(`  ${c.id}  ${c.uri}  [${c.tags.join(", ")}]`);
  say(`storage keys (${info.keys.length}):`);
  for (const k of info.keys) say(`  ${k}`);
}

/** `partyhouse tail`: the server's log lines as they happen, until interrupted. */
export async function runTail(cli: ParsedCli): Promise<void> {
  const query = new URLSearchParams();
  if (cli.admin.party !== undefined) query.set("party", cli.admin.party);
  if (cli.admin.room !== undefined) query.set("room", cli.admin.room);
  query.set("level", cli.admin.level ?? "info");
  const res = await get(cli, `/logs?${query}`);
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line === "") continue;
      if (cli.admin.format === "json") {
        say(line);
        continue;
      }
      const e = JSON.parse(line) as Record<string, unknown>;
      const where = [e["party"], e["room"]].filter((x) => x !== undefined).join("/");
      const code = e["code"] ? ` [${String(e["code"])}]` : "";
      say(
        `${String(e["time"] ?? "")} ${String(e["level"])}${code}${where ? ` ${where}` : ""}: ${String(e["message"])}`,
      );
    }
  }
}
