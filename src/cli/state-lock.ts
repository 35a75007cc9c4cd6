/**
 * One server per state folder: two processes writing the same SQLite file would each keep their
 * own rooms in memory and disagree about them. The lock is a file beside the database holding
 * the owner's pid; a lock whose process is gone (kill -9, a crash) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PartyhouseError } from "../core/errors.js";

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false; // our own stale lock (a restarted container is pid 1 again)
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A held lock; `release()` removes the file if it is still ours. */
export interface StateLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes `<folder of dbPath>/partyhouse.lock`. Throws PH_ERR_STATE_LOCKED, naming the pid, while
 * a live process holds it. The workers of `--workers` pass their supervisor's pid as `owner`: the
 * first takes the lock in its name, the others find it theirs, and only the supervisor removes it.
 */
export function lockStateFolder(dbPath: string, owner: number = process.pid): StateLock {
  const path = join(dirname(dbPath), "partyhouse.lock");
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${owner}\n`, { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw e;
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(path, "utf8").trim());
    } catch {
      // Gone meanwhile: try again.
    }
    if (holder === owner && owner !== process.pid) return { path, release: () => {} };
    if (isAlive(holder)) {
      throw new PartyhouseError(
        "PH_ERR_STATE_LOCKED",
        `the state folder ${dirname(path)} is in use by another partyhouse process (pid ${holder}, lock file ${path}); stop it, or give this one its own folder with --persist <dir>`,
      );
    }
    // The owner is dead: take the lock over.
    rmSync(path, { force: true });
  }
  if (owner !== process.pid) return { path, release: () => {} };
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    try {
      if (readFileSync(path, "utf8").trim() === String(process.pid)) rmSync(path, { force: true });
    } catch {
      // Already gone.
    }
  };
  process.once("exit", release);
  return { path, release };
}
