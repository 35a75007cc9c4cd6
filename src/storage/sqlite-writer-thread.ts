/**
 * The SQLite writer thread's entry (started by sqlite-thread.ts): its own connection to the
 * storage file, applying large batches so that their thousands of row inserts run on another
 * core while the room's JavaScript goes on. Commits arrive in order on one port and are applied
 * in that order; a commit is answered only once its transaction has committed.
 *
 * After a room's commit fails, its later commits of the same chain are answered with an error
 * without being applied: they were issued on top of writes that never became durable.
 *
 * The same entry, with role "checkpoint", copies the WAL back into the database file in the
 * background: left to SQLite's automatic checkpoint, that copy runs inside whichever commit
 * crosses the WAL's size limit and stalls it (8–12 ms, measured, under a stream of large
 * commits). A passive checkpoint from a connection of its own waits for no writer and stalls none.
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../core/errors.js";
import { decodeChanges } from "./batch-codec.js";
import { SqliteWriter } from "./sqlite-writer.js";
import type { ThreadCommit, ThreadReply, ThreadSetup } from "./sqlite-thread-protocol.js";

const setup = workerData as ThreadSetup;
const port = parentPort!;

function reply(message: ThreadReply): void {
  port.postMessage(message);
}

function describe(e: unknown): { code: string | undefined; message: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return { code: typeof code === "string" ? code : undefined, message: errorMessage(e) };
}

/** How often the checkpoint thread looks at the WAL. */
const CHECKPOINT_EVERY_MS = 100;
/**
 * The writer's own automatic checkpoint, kept as a backstop should the checkpoint thread fall
 * behind: at this many pages (40 MB) the WAL is copied back by the writer after all.
 */
const BACKSTOP_PAGES = 10_000;

let writer: SqliteWriter | undefined;
try {
  const db = new Database(setup.path, { timeout: setup.timeout });
  db.pragma(`synchronous = ${setup.synchronous}`);
  if (setup.role === "checkpoint") {
    setInterval(() => {
      try {
        db.pragma("wal_checkpoint(PASSIVE)");
      } catch {
        // Busy or failing: the next round, or the writer's backstop, catches up.
      }
    }, CHECKPOINT_EVERY_MS);
  } else {
    db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    writer = new SqliteWriter(db);
  }
  reply({ ready: true });
} catch (e) {
  reply({ ready: false, error: describe(e) });
  process.exit(1);
}

/** party\0room → the chain whose commit failed. */
const broken = new Map<string, number>();

port.on("message", (message: ThreadCommit) => {
  if (writer === undefined) return;
  const key = `${message.party}\u0000${message.room}`;
  const failedChain = broken.get(key);
  if (failedChain === message.chain) {
    reply({
      id: message.id,
      error: {
        code: "PH_ERR_STORAGE_IO",
        message: "not applied: an earlier commit of this room failed",
      },
    });
    return;
  }
  if (failedChain !== undefined) broken.delete(key);
  try {
    // A view of the transferred bytes, not a copy: the values are only read during the commit.
    const bytes = message.changes;
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const changes = decodeChanges(view, "the writer thread", false);
    writer.commit(
      { party: message.party, room: message.room },
      {
        ...changes,
        alarm: message.alarm,
        ...(message.fence === undefined ? {} : { fence: { epoch: message.fence } }),
      },
    );
    reply({ id: message.id });
  } catch (e) {
    broken.set(key, message.chain);
    reply({ id: message.id, error: describe(e) });
  }
});
