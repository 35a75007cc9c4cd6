/** PartyKit's `build.command`: a shell command run before bundling (for example a CSS build). */
import { spawnSync } from "node:child_process";
import { PartyhouseError } from "../core/errors.js";
import type { BuildCommand } from "../config/types.js";

/** Runs the command in its folder with the terminal attached; throws PH_ERR_BUNDLE if it fails. */
export function runBuildCommand(build: BuildCommand): void {
  const r = spawnSync(build.command, { shell: true, cwd: build.cwd, stdio: "inherit" });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit status ${r.status ?? r.signal}`;
    throw new PartyhouseError(
      "PH_ERR_BUNDLE",
      `build.command "${build.command}" failed (${why}) in ${build.cwd}.`,
      { cause: r.error },
    );
  }
}
