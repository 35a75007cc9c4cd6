/**
 * Separate "hosts" for the partition test: one Linux network namespace per node, so each node has
 * its own addresses and its own links that the test can cut. Needs root and iproute2 (`ip`).
 *
 *   root namespace (the test, the relays, PostgreSQL on 127.0.0.1)
 *     ├─ phx<id>-h ─── switch namespace: bridge br0 ─┬─ node a: eth0 10.213.<n>.11/24
 *     │  10.213.<n>.1/24                             ├─ node b: eth0 10.213.<n>.12/24
 *     │                                              └─ node c: eth0 10.213.<n>.13/24
 *     └─ phx<id>-d<i> 10.214.<n>.<4i+1>/30 ──────────── node i: db 10.214.<n>.<4i+2>/30
 *
 * The bridge is the nodes' network: they reach each other, and the test reaches them, over it.
 * It lives in a namespace of its own because the root namespace's firewall may drop bridged
 * traffic (Docker's FORWARD policy with br_netfilter loaded). Each node's second link, `db`,
 * leads only to its relay in the root namespace (see tcp-relay.ts), which pipes to PostgreSQL:
 * taking its root end down cuts that node off the database and nothing else. The node
 * namespaces have no default route, so no packet finds another way to the relay.
 *
 * Every namespace, link and process made here is pushed on an undo stack; `remove()` (and a
 * failure half way through `createHosts`) undoes all of it. Leftovers of a run that died without
 * cleaning up (its process is gone) are removed on the next start. Names carry the creating
 * process's id, so runs side by side do not touch each other's.
 */
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess, SpawnOptions } from "node:child_process";

export interface NodeHost {
  readonly name: string;
  /** The node's namespace. */
  readonly ns: string;
  /** Its address on the bridge: other nodes and the test reach it here. */
  readonly addr: string;
  /** The root-namespace end of its database link, where its relay listens. */
  readonly dbHost: string;
  /** The root-namespace interface of that link: down cuts the node off the database. */
  readonly dbLink: string;
}

export interface Hosts {
  readonly nodes: readonly NodeHost[];
  /** Cuts `node` off the database (its other link stays up). */
  cutDb(node: NodeHost): void;
  restoreDb(node: NodeHost): void;
  /** Spawns `command` inside `node`'s namespace, in a process group of its own. */
  spawn(node: NodeHost, command: string, args: string[], options: SpawnOptions): ChildProcess;
  /** Runs a command inside `node`'s namespace and returns its stdout. */
  exec(node: NodeHost, command: string, args: string[]): string;
  /** Kills every process spawned here and deletes every namespace and link. Idempotent. */
  remove(): void;
}

const PREFIX = "phx";

/** Null when this process can make namespaces, else why not (the partition test fails then). */
export function netnsMissing(): string | null {
  if (process.getuid?.() !== 0) {
    return "the partition test creates network namespaces and needs root (CI runs it as root)";
  }
  const ip = spawnSync("ip", ["-V"], { encoding: "utf8" });
  if (ip.error !== undefined || ip.status !== 0) {
    return `the partition test needs iproute2's \`ip\`: ${ip.error?.message ?? ip.stderr}`;
  }
  return null;
}

function ip(args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`\`ip ${args.join(" ")}\` failed: ${r.error?.message ?? r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Best effort, for undo steps: a step whose object is already gone is fine. */
function tryIp(args: string[]): void {
  spawnSync("ip", args, { stdio: "ignore" });
}

function killGroup(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // Already gone, or not a group leader.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Deletes namespaces and root links left by runs whose process is gone. */
function removeStale(): void {
  const ownerOf = (name: string): number | undefined => {
    const m = new RegExp(`^${PREFIX}-?([0-9a-z]+)-`).exec(name);
    return m === null ? undefined : parseInt(m[1]!, 36);
  };
  for (const line of ip(["netns", "list"]).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const pid = ownerOf(name);
    if (pid === undefined || alive(pid)) continue;
    // Its nodes run in process groups of their own and outlived it.
    for (const p of spawnSync("ip", ["netns", "pids", name], { encoding: "utf8" }).stdout.split(
      "\n",
    )) {
      if (/^\d+$/.test(p)) killGroup(Number(p));
    }
    tryIp(["netns", "delete", name]);
  }
  for (const line of ip(["-o", "link", "show"]).split("\n")) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? "";
    const pid = ownerOf(name);
    if (pid !== undefined && !alive(pid)) tryIp(["link", "delete", name]);
  }
}

/** A /24 number for 10.213.n.0 and 10.214.n.0 that no address or route of this host uses. */
function freeSubnet(): number {
  const used = ip(["-4", "-o", "addr", "show"]) + ip(["-4", "route", "show", "table", "all"]);
  for (let i = 0; i < 230; i++) {
    const n = 20 + ((process.pid + i) % 230);
    if (!used.includes(`10.213.${n}.`) && !used.includes(`10.214.${n}.`)) return n;
  }
  throw new Error("no free 10.213.n.0/24 and 10.214.n.0/24 for the partition test");
}

/** Makes one namespace per name (at most 60), wired as the file comment shows. */
export function createHosts(names: readonly string[]): Hosts {
  removeStale();
  const id = process.pid.toString(36);
  const undo: Array<() => void> = [];
  const children: ChildProcess[] = [];
  const remove = () => {
    // Processes first: a namespace with a process in it stays until that process exits.
    for (const child of children.splice(0)) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        killGroup(child.pid);
      }
    }
    for (const step of undo.splice(0).reverse()) step();
    process.off("exit", remove);
  };
  // A test that times out never reaches its finally; the runner's exit still cleans up.
  process.on("exit", remove);
  try {
    const n = freeSubnet();
    const addNs = (ns: string) => {
      ip(["netns", "add", ns]);
      undo.push(() => tryIp(["netns", "delete", ns]));
      ip(["-n", ns, "link", "set", "lo", "up"]);
    };
    const sw = `${PREFIX}-${id}-sw`;
    addNs(sw);
    ip(["-n", sw, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", sw, "link", "set", "br0", "up"]);
    const uplink = `${PREFIX}${id}-h`;
    ip(["link", "add", uplink, "type", "veth", "peer", "name", "up0", "netns", sw]);
    undo.push(() => tryIp(["link", "delete", uplink]));
    ip(["addr", "add", `10.213.${n}.1/24`, "dev", uplink]);
    ip(["link", "set", uplink, "up"]);
    ip(["-n", sw, "link", "set", "up0", "master", "br0", "up"]);

    const nodes = names.map((name, i): NodeHost => {
      const ns = `${PREFIX}-${id}-${name}`;
      addNs(ns);
      // One end on the bridge, the other the node's eth0; both die with their namespaces.
      const port = `p${i}`;
      ip(["link", "add", port, "netns", sw, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      ip(["-n", sw, "link", "set", port, "master", "br0", "up"]);
      const addr = `10.213.${n}.${11 + i}`;
      ip(["-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0"]);
      ip(["-n", ns, "link", "set", "eth0", "up"]);
      const dbLink = `${PREFIX}${id}-d${i}`;
      ip(["link", "add", dbLink, "type", "veth", "peer", "name", "db", "netns", ns]);
      undo.push(() => tryIp(["link", "delete", dbLink]));
      const dbHost = `10.214.${n}.${4 * i + 1}`;
      ip(["addr", "add", `${dbHost}/30`, "dev", dbLink]);
      ip(["link", "set", dbLink, "up"]);
      ip(["-n", ns, "addr", "add", `10.214.${n}.${4 * i + 2}/30`, "dev", "db"]);
      ip(["-n", ns, "link", "set", "db", "up"]);
      return { name, ns, addr, dbHost, dbLink };
    });
    return {
      nodes,
      cutDb: (node) => ip(["link", "set", node.dbLink, "down"]),
      restoreDb: (node) => ip(["link", "set", node.dbLink, "up"]),
      spawn(node, command, args, options) {
        const child = spawn("ip", ["netns", "exec", node.ns, command, ...args], {
          ...options,
          detached: true,
        });
        children.push(child);
        return child;
      },
      exec(node, command, args) {
        const r = spawnSync("ip", ["netns", "exec", node.ns, command, ...args], {
          encoding: "utf8",
        });
        if (r.status !== 0) throw new Error(`${command} in ${node.ns} failed: ${r.stderr}`);
        return r.stdout;
      },
      remove,
    };
  } catch (e) {
    remove();
    throw e;
  }
}
