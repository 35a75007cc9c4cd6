import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "../..");
export const binPath = join(repoRoot, "bin/partyhouse.js");

/** A temp project folder whose node_modules points at the repository's (partysocket etc.). */
export function tempProject(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

/** A temp copy of `examples/<name>`, so running it never writes state into the repository. */
export function copyExample(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ph-example-${name}-`));
  cpSync(join(repoRoot, "examples", name), dir, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|\.partykit|dist)$/.test(src),
  });
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

export interface RunningCli {
  child: ChildProcess;
  url: string;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();

export function killAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  children.clear();
}

/** Runs the built CLI and resolves once it prints the URL it listens on. */
export async function startCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<RunningCli> {
  const child = spawn(process.execPath, [binPath, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal });
    }),
  );
  const waitForOutput = (pattern: RegExp, timeoutMs = 30000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`timed out waiting for ${pattern} in:\n${out}`)),
        timeoutMs,
      );
      const check = () => {
        const m = out.match(pattern);
        if (m) {
          clearTimeout(deadline);
          resolve(m);
        } else if (child.exitCode !== null) {
          clearTimeout(deadline);
          reject(
            new Error(`the CLI exited (${child.exitCode}) before printing ${pattern}:\n${out}`),
          );
        } else waiters.push(check);
      };
      check();
    });
  const m = await waitForOutput(/listening on (http:\/\/[\d.:[\]a-z]+)/);
  return { child, url: m[1]!, output: () => out, waitForOutput, exited };
}

/** Runs the CLI to completion. */
export function runCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.add(child);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => resolve({ code, out }));
  });
}
