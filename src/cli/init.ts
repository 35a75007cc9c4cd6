import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { ParsedCli } from "../config/cli-args.js";
import { PartyhouseError } from "../core/errors.js";
import { templateFiles } from "./templates/chat.js";

/**
 * `partyhouse init [name]`: writes a working chat project (a party with storage-backed history
 * and a page using partysocket). Without a name it writes into the current folder; it never
 * overwrites a file that exists.
 */
export async function runInit(cli: ParsedCli): Promise<void> {
  const dir = resolve(process.cwd(), cli.name ?? ".");
  const name =
    basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-") || "partyhouse-app";
  const files = templateFiles(name);
  const clashes = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (clashes.length > 0) {
    throw new PartyhouseError(
      "PH_ERR_CONFIG",
      `init: ${clashes.join(", ")} already exist in ${dir}; run init in an empty folder or pass a new name`,
    );
  }
  for (const [file, text] of Object.entries(files)) {
    const path = join(dir, file);
    if (cli.dryRun) {
      process.stdout.write(`would write ${path}\n`);
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  if (cli.dryRun) return;
  const cd = cli.name ? `cd ${cli.name} && ` : "";
  process.stdout.write(
    `Created a partyhouse project in ${dir}\n\nNext:\n  ${cd}npm install\n  npx partyhouse dev\n\nthen open http://127.0.0.1:1999\n`,
  );
}
