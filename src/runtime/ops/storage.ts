/** A storage driver that counts and times its commits, for the metrics. */
import type { Batch, StorageDriver } from "../../storage/driver.js";
import type { RoomRef } from "../../core/api/storage-api.js";

export interface CommitObserver {
  /** A commit finished: its duration in seconds, and whether it failed. */
  commit(seconds: number, failed: boolean): void;
}

/** Wraps `driver` so each commit is reported to `observe`; everything else is passed through. */
export function observedDriver(driver: StorageDriver, observe: CommitObserver): StorageDriver {
  const commit = driver.commit.bind(driver);
  return {
    get: (ref, keys) => driver.get(ref, keys),
    list: (ref, range) => driver.list(ref, range),
    getAlarm: (ref) => driver.getAlarm(ref),
    listAlarms: (query) => driver.listAlarms(query),
    close: () => driver.close(),
    commit(ref: RoomRef, batch: Batch) {
      const start = performance.now();
      const done = (failed: boolean) => observe.commit((performance.now() - start) / 1000, failed);
      let result;
      try {
        result = commit(ref, batch);
      } catch (e) {
        done(true);
        throw e;
      }
      if (result instanceof Promise) {
        return result.then(
          () => done(false),
          (e: unknown) => {
            done(true);
            throw e;
          },
        );
      }
      done(false);
      return result;
    },
  };
}
