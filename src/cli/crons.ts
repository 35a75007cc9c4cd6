import { Cron } from "croner";
import { errorMessage } from "../core/errors.js";
import type { Logger } from "../core/log.js";

/** Schedules the config's `crons`; each tick calls the main party's static onCron. */
export function scheduleCrons(
  crons: Readonly<Record<string, string>>,
  run: (name: string, expr: string) => Promise<void>,
  log: Logger,
): { stop(): void } {
  const jobs = Object.entries(crons).map(
    ([name, expr]) =>
      new Cron(expr, { protect: true, unref: true }, async () => {
        try {
          await run(name, expr);
        } catch (e) {
          log.error("PH_ERR_HANDLER", `onCron "${name}": ${errorMessage(e)}`);
        }
      }),
  );
  return {
    stop() {
      for (const job of jobs) job.stop();
    },
  };
}
