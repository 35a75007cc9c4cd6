/**
 * Test helpers: a driver wrapper that records commits, can fail one on demand and can turn a
 * synchronous driver asynchronous (as Postgres will be), plus error assertions.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PartyhouseError } from "../../src/core/errors.js";
import type { ErrorCode } from "../../src/core/errors.js";
import type { AlarmQuery, AlarmRow, RoomRef } from "../../src/core/api/storage-api.js";
import type {
  Batch,
  Entry,
  KeyRange,
  MaybePromise,
  StorageDriver,
} from "../../src/storage/driver.js";

export class SpyDriver implements StorageDriver {
  readonly commits: Batch[] = [];
  /** When set, the next commit throws this instead of writing. */
  failNextCommit: Error | undefined;
  /** When set, commits wait for it (a slow disk or a far database), then go on as usual. */
  commitGate: Promise<void> | undefined;

  /** room → the chain whose commit this spy failed (a pipelined driver must skip the rest). */
  readonly #failedChains = new Map<string, number>();

  constructor(
    readonly inner: StorageDriver,
    readonly async: boolean,
  ) {}

  get pipelined(): boolean | undefined {
    return this.inner.pipelined;
  }

  get(ref: RoomRef, keys: readonly string[]): MaybePromise<Map<string, Uint8Array>> {
    return this.#call(() => this.inner.get(ref, keys));
  }

  list(ref: RoomRef, range: KeyRange): MaybePromise<Entry[]> {
    return this.#call(() => this.inner.list(ref, range));
  }

  getAlarm(ref: RoomRef): MaybePromise<number | null> {
    return this.#call(() => this.inner.getAlarm(ref));
  }

  commit(ref: RoomRef, batch: Batch): MaybePromise<void> {
    const gate = this.commitGate;
    if (gate !== undefined) return gate.then(() => this.#apply(ref, batch));
    return this.#call(() => this.#apply(ref, batch));
  }

  #apply(ref: RoomRef, batch: Batch): MaybePromise<void> {
    // A failure injected here is one the inner driver never saw: honour Batch.chain for it, as
    // a pipelined driver does for its own.
    const room = `${ref.party}\u0000${ref.room}`;
    if (batch.chain !== undefined && this.#failedChains.get(room) === batch.chain) {
      throw new Error("not applied: an earlier commit of this chain failed");
    }
    const failure = this.failNextCommit;
    if (failure !== undefined) {
      this.failNextCommit = undefined;
      if (batch.chain !== undefined) this.#failedChains.set(room, batch.chain);
      throw failure;
    }
    this.commits.push(batch);
    return this.inner.commit(ref, batch);
  }

  listAlarms(query?: AlarmQuery): MaybePromise<AlarmRow[]> {
    return this.#call(() => this.inner.listAlarms(query));
  }

  close(): MaybePromise<void> {
    return this.#call(() => this.inner.close());
  }

  /** In async mode every call answers in a later macrotask, in the order it was made. */
  #call<T>(fn: () => MaybePromise<T>): MaybePromise<T> {
    if (!this.async) return fn();
    return new Promise<T>((resolve, reject) => {
      setImmediate(() => {
        try {
          Promise.resolve(fn()).then(resolve, reject);
        } catch (e) {
          reject(e);
        }
      });
    });
  }
}

/** Asserts that `promise` rejects with a PartyhouseError of `code` whose message matches. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof PartyhouseError, `expected a PartyhouseError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
}

/** Asserts that `fn` throws synchronously a PartyhouseError of `code`. */
export function throwsWith(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof PartyhouseError && e.code === code);
}

/** A fresh directory under the OS temp dir, removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "partyhouse-storage-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Keys sorted by their UTF-8 bytes: the order storage must list them in. */
export function utf8Sorted(keys: readonly string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * Runs fixtures/crash-writer.ts (or another writer of fixtures/) with `args` and kills it with
 * SIGKILL once it acknowledged `wanted` keys; returns every line it printed (each printed only
 * after its write was durable).
 */
export async function killWriterAfter(
  args: string[],
  wanted: number,
  fixture = "crash-writer.ts",
): Promise<string[]> {
  const writer = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", writer, ...args], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = once(child, "exit");
  const acknowledged: string[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    acknowledged.push(line);
    if (acknowledged.length === wanted) child.kill("SIGKILL");
  }
  const [code, signal] = (await exited) as [number | null, string | null];
  assert.equal(signal, "SIGKILL", `the writer should have been killed; exit ${code}: ${stderr}`);
  assert.ok(acknowledged.length >= wanted, `only ${acknowledged.length} keys acknowledged`);
  return acknowledged;
}
