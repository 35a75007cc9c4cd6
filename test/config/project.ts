/** Temporary projects on disk for the config tests. */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { CliFlags } from "../../src/config/types.js";

const made: string[] = [];

/** Creates a folder under the OS temp dir holding `files` (path → text). */
export function project(files: Record<string, string>): string {
  // realpath: on macOS tmpdir is a symlink, and resolved paths are compared below.
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "ph-config-")));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return dir;
}

export function cleanup(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function flags(extra: Partial<CliFlags> = {}): CliFlags {
  return { vars: {}, define: {}, mode: "dev", ...extra };
}

export const SERVER = "export default class Server {}\n";
