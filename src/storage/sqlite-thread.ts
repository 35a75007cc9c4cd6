/**
 * The SQLite driver's writer thread, seen from the driver: started on the first large commit,
 * it takes commits while the driver's own thread goes on with the rooms (see sqlite.ts for which
 * commits it gets). Commits are answered in the order they were sent. If the thread dies, every
 * commit it had not answered fails with PH_ERR_STORAGE_IO and the next large commit starts a new
 * one.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ErrorCodes, PartyhouseError, errorMessage } from "../core/errors.js";
import type { ErrorCode } from "../core/errors.js";
import type { RoomRef } from "../core/api/storage-api.js";
import { encodeChanges } from "./batch-codec.js";
import type { Batch } from "./driver.js";
import type { ThreadError, ThreadReply, ThreadSetup } from "./sqlite-thread-protocol.js";

/**
 * The thread's compiled entry. Run from the TypeScript sources (the tests, under tsx), the sibling
 * is a .ts file a worker cannot load, so the build's copy is used; the test command builds first.
 */
function entry(): URL {
  const sibling = new URL("./sqlite-writer-thread.js", import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  return new URL("../../dist/storage/sqlite-writer-thread.js", import.meta.url);
}

/** See SqliteWriterThread[stopWriterAbruptly]. */
export const stopWriterAbruptly: unique symbol = Symbol("partyhouse.sqlite.stopWriterAbruptly");

interface Pending {
  resolve(): void;
  reject(error: unknown): void;
}

export class SqliteWriterThread {
  #worker: Worker | undefined;
  /** The background checkpointer, started with the first writer (see sqlite-writer-thread.ts). */
  #checkpointer: Worker | undefined;
  #ready = false;
  /** Settles when the thread started by #start can take commits, or cannot. */
  #started: Promise<void> | undefined;
  #settleStart: ((error?: Error) => void) | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, Pending>();
  #closed = false;
  /** close() waiting for the last answer. */
  readonly #idle: (() => void)[] = [];
  /** The thread could not open the file: commits stay on the driver's thread from then on. */
  #unusable = false;

  constructor(readonly setup: Omit<ThreadSetup, "role">) {}

  /** True when commits can be sent; otherwise starts the thread (the caller commits inline). */
  available(): boolean {
    if (this.#ready) return true;
    if (this.#worker === undefined && !this.#closed && !this.#unusable) this.#start();
    return false;
  }

  /** Starts the thread if need be; resolves once it takes commits, rejects if it cannot. */
  start(): Promise<void> {
    if (this.available()) return Promise.resolve();
    return this.#worker === undefined ? Promise.reject(closedError()) : this.#started!;
  }

  /** Commits sent and not answered yet: while there are any, every commit must come here. */
  get busy(): boolean {
    return this.#pending.size > 0;
  }

  commit(ref: RoomRef, batch: Batch): Promise<void> {
    const worker = this.#worker!;
    const id = this.#nextId++;
    const changes = encodeChanges(batch);
    // A fresh buffer of its own (allocUnsafe of a large size is not pooled): transfer, not copy.
    const transfer = changes.byteOffset === 0 && changes.buffer.byteLength === changes.length;
    const message = {
      id,
      party: ref.party,
      room: ref.room,
      changes,
      alarm: batch.alarm,
      fence: batch.fence?.epoch,
      chain: batch.chain ?? 0,
    };
    worker.postMessage(message, transfer ? [changes.buffer as ArrayBuffer] : []);
    if (this.#pending.size === 0) worker.ref();
    return new Promise<void>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  /**
   * Stops the writer thread at once, as a crash would (its unanswered commits fail); only for the
   * tests of that path. The next large commit starts a new thread.
   */
  [stopWriterAbruptly](): Promise<number> {
    return this.#worker?.terminate() ?? Promise.resolve(0);
  }

  /** Waits for every commit sent, then stops the thread. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#pending.size > 0) await new Promise<void>((done) => this.#idle.push(done));
    const worker = this.#worker;
    this.#worker = undefined;
    await Promise.all([worker?.terminate(), this.#checkpointer?.terminate()]);
    this.#checkpointer = undefined;
  }

  #start(): void {
    if (this.#checkpointer === undefined) {
      const checkpointer = new Worker(entry(), {
        workerData: { ...this.setup, role: "checkpoint" },
      });
      checkpointer.unref();
      // It only helps: if it stops, the writer's own automatic checkpoint takes over.
      checkpointer.on("error", () => {});
      this.#checkpointer = checkpointer;
    }
    const worker = new Worker(entry(), { workerData: { ...this.setup, role: "write" } });
    this.#worker = worker;
    this.#started = new Promise<void>((resolve, reject) => {
      this.#settleStart = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Nobody need wait for it (available() callers commit inline meanwhile).
    this.#started.catch(() => {});
    worker.unref();
    worker.on("message", (reply: ThreadReply) => this.#onReply(reply));
    worker.on("error", (e) => this.#stopped(worker, e));
    worker.on("exit", (code) => this.#stopped(worker, new Error(`it exited with code ${code}`)));
  }

  #onReply(reply: ThreadReply): void {
    if ("ready" in reply) {
      if (reply.ready) this.#ready = true;
      // A thread that cannot open the file exits; #stopped forgets it, and commits stay inline.
      else this.#unusable = true;
      this.#settleStart?.(reply.ready ? undefined : toError(reply.error));
      return;
    }
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (reply.error === undefined) pending.resolve();
    else pending.reject(toError(reply.error));
    if (this.#pending.size === 0) this.#whenIdle();
  }

  #stopped(worker: Worker, cause: unknown): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    void worker.terminate();
    this.#ready = false;
    // Settling twice is harmless: a thread that was ready stays resolved.
    this.#settleStart?.(closedError());
    const error = new PartyhouseError(
      "PH_ERR_STORAGE_IO",
      `The SQLite writer thread stopped before answering: ${errorMessage(cause)}`,
      { cause },
    );
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
    this.#whenIdle();
  }

  #whenIdle(): void {
    // Idle, the thread must not keep the process alive.
    this.#worker?.unref();
    for (const done of this.#idle.splice(0)) done();
  }
}

function closedError(): PartyhouseError {
  return new PartyhouseError("PH_ERR_STORAGE_IO", "The SQLite writer thread is not running.");
}

/** Rebuilds the thread's error: PartyhouseError codes survive, anything else becomes an Error. */
function toError(error: ThreadError): Error {
  if (error.code !== undefined && error.code in ErrorCodes) {
    return new PartyhouseError(error.code as ErrorCode, error.message);
  }
  return Object.assign(new Error(error.message), { code: error.code });
}
