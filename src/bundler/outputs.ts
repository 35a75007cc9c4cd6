/**
 * Where party bundles are written and when old ones go. Node's ESM loader caches a module by URL
 * for the life of the process, so a rebuilt party must have a new file name to be loaded again:
 * `<party>.<pid>-<instance>-v<version>.mjs`. The pid lets a later run delete what a dead process
 * left behind without touching files a live one (say a second `partyhouse dev`) still uses.
 */
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const OUTPUT_NAME = /^(.+)\.(\d+)-(\d+)-v(\d+)\.mjs$/;

let instances = 0;

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The versioned outputs of one bundler. */
export class OutputDir {
  readonly dir: string;
  private readonly tag: string;
  private readonly instance: number;

  constructor(dir: string) {
    this.dir = dir;
    this.instance = ++instances;
    this.tag = `${process.pid}-${this.instance}`;
  }

  /** The file a party's bundle of `version` is written to. */
  fileFor(party: string, version: number): string {
    return join(this.dir, `${party}.${this.tag}-v${version}.mjs`);
  }

  /** Creates the folder and deletes outputs of processes that no longer run. */
  async prepare(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      const m = OUTPUT_NAME.exec(name);
      if (m && !isAlive(Number(m[2]))) await rm(join(this.dir, name), { force: true });
    }
  }

  /** Writes one version's files: party name → code. Returns party name → absolute path. */
  async write(version: number, code: ReadonlyMap<string, string>): Promise<Record<string, string>> {
    await mkdir(this.dir, { recursive: true });
    const out: Record<string, string> = {};
    for (const [party, text] of code) {
      const file = this.fileFor(party, version);
      await writeFile(file, text);
      out[party] = file;
    }
    return out;
  }

  /**
   * Deletes this bundler's versions older than `keepFrom`. The previous version is kept by the
   * caller's choice of `keepFrom`, so a room that imports lazily from the last result it was
   * handed still finds its file.
   */
  async prune(keepFrom: number): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      const m = OUTPUT_NAME.exec(name);
      if (m && `${m[2]}-${m[3]}` === this.tag && Number(m[4]) < keepFrom) {
        await rm(join(this.dir, name), { force: true });
      }
    }
  }
}
