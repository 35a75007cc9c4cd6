// Helpers shared by the benchmark and the conformance driver, which both run `partykit dev`
// (it binds 0.0.0.0) and so move themselves into a private, loopback-only network namespace.
import { spawnSync } from "node:child_process";
import { createServer } from "node:net";

/**
 * Re-runs this very script inside network namespace `name` (created if needed, with only `lo`
 * up), marking the child with `envFlag=1`, and exits with its status. The namespace is deleted
 * again afterwards, whatever the child's outcome (a signal to this process included). Returns
 * false (and does nothing) when that is not possible: not root, no `ip`, or no namespace.
 */
export function reexecInNetns(name, envFlag, extraArgs = []) {
  if (process.getuid?.() !== 0 || spawnSync("ip", ["-V"]).status !== 0) return false;
  spawnSync("ip", ["netns", "add", name], { stdio: "ignore" });
  const remove = () => spawnSync("ip", ["netns", "delete", name], { stdio: "ignore" });
  const up = spawnSync("ip", ["netns", "exec", name, "ip", "link", "set", "lo", "up"]);
  if (up.status !== 0) {
    remove();
    return false;
  }
  // spawnSync blocks; a SIGINT/SIGTERM reaches the child too, and the cleanup below still runs.
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {});
  const args = [...process.execArgv, ...process.argv.slice(1), ...extraArgs];
  const r = spawnSync("ip", ["netns", "exec", name, process.execPath, ...args], {
    stdio: "inherit",
    env: { ...process.env, [envFlag]: "1" },
  });
  remove();
  process.exit(r.status ?? 1);
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
