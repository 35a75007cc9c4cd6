import { Cron } from "croner";
import { errorMessage } from "../core/errors.js";
import type { Logger } from "../core/log.js";

/**
 * Schedules the config's `crons`; each tick calls `run` (which calls the main party's static
 * onCron) with the tick's scheduled time. Crons have a resolution of one second and a job fires
 * when this machine's clock reaches the scheduled instant, so the fire time floored to the second
 * is that instant: the same tick id on every node whose clock is within a second of the others.
 */
export function scheduleCrons(
  crons: Readonly<Record<string, string>>,
  run: (name: string, expr: string, tickMs: number) => Promise<void>,
  log: Logger,
): { stop(): void } {
  const jobs = Object.entries(crons).map(
    ([name, expr]) =>
      new Cron(expr, { protect: true, unref: true }, async () => {
        const tickMs = Math.floor(Date.now() / 1000) * 1000;
        try {
          await run(name, expr, tickMs);
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
