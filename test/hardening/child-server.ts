import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { waitFor } from "../helpers.js";

export interface LogLine {
  level: string;
  code?: string;
  message: string;
  party?: string;
  room?: string;
  kind?: string;
}

/** A fixture server in a child process (a fault must never reach the test runner's own process). */
export interface ChildServer {
  url: string;
  wsUrl(path: string): string;
  logs(): LogLine[];
  waitForLog(match: (line: LogLine) => boolean, what: string): Promise<LogLine>;
  readonly exitCode: number | null;
  stop(): Promise<void>;
}

export async function startChildServer(
  fixture: string,
  limits: Record<string, number> = {},
  openFiles?: number,
): Promise<ChildServer> {
  const node = [
    process.execPath,
    "--import",
    "tsx",
    join(import.meta.dirname, "fixtures", fixture),
  ];
  // `ulimit -n` lowered for the child only, through the shell (Node cannot set rlimits).
  const [cmd, ...args] =
    openFiles === undefined
      ? node
      : ["/bin/sh", "-c", `ulimit -n ${openFiles} && exec "$@"`, "sh", ...node];
  const child: ChildProcess = spawn(cmd!, args, {
    cwd: join(import.meta.dirname, "../.."),
    env: { ...process.env, PH_TEST_LIMITS: JSON.stringify(limits) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  };
  try {
    const url = await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`fixture exited early:\n${out}`);
        return /listening on (http:\/\/[\d.:]+)/.exec(out)?.[1];
      },
      30_000,
      `the fixture to listen:\n${out}`,
    );
    const logs = () =>
      out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as LogLine);
    return {
      url,
      wsUrl: (path) => url.replace("http", "ws") + path,
      logs,
      waitForLog: (match, what) =>
        waitFor(() => logs().find(match), 15_000, `log: ${what}\n${out}`),
      get exitCode() {
        return child.exitCode;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
