/**
 * .env files, read the way PartyKit reads them (it uses the `dotenv` package): `KEY=value` lines,
 * optional `export `, `#` comments, single/double/backtick quotes with multi-line values, `\n`
 * escapes inside double quotes only, last definition wins. Hand-written because
 * `util.parseEnv` only exists from Node 20.12 and our floor is 20.10.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const KEY = /^[\w.-]+$/;

/** Parses the text of a .env file into its variables. Lines that are not assignments are skipped. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const src = text.replace(/\r\n?/g, "\n");
  let i = 0;
  while (i < src.length) {
    const lineEnd = indexOrEnd(src, "\n", i);
    const line = src.slice(i, lineEnd);
    const eq = line.indexOf("=");
    let key = eq === -1 ? "" : line.slice(0, eq).trim();
    if (key.startsWith("export ")) key = key.slice("export ".length).trim();
    if (eq === -1 || !KEY.test(key)) {
      i = lineEnd + 1;
      continue;
    }
    let pos = i + eq + 1;
    while (src[pos] === " " || src[pos] === "\t") pos++;
    const quote = src[pos];
    if (quote === '"' || quote === "'" || quote === "`") {
      const close = src.indexOf(quote, pos + 1);
      // An unterminated quote is taken literally up to the end of the line, as dotenv does.
      if (close !== -1) {
        const raw = src.slice(pos + 1, close);
        out[key] = quote === '"' ? raw.replace(/\\n/g, "\n").replace(/\\r/g, "\r") : raw;
        i = indexOrEnd(src, "\n", close) + 1;
        continue;
      }
    }
    const rest = src.slice(pos, lineEnd);
    const hash = rest.indexOf("#");
    out[key] = (hash === -1 ? rest : rest.slice(0, hash)).trim();
    i = lineEnd + 1;
  }
  return out;
}

function indexOrEnd(text: string, search: string, from: number): number {
  const at = text.indexOf(search, from);
  return at === -1 ? text.length : at;
}

/**
 * Reads `<dir>/.env` and, when `includeLocal` (dev), `<dir>/.env.local` over it.
 * Returns the merged variables and the files that were read.
 */
export function loadDotenvFiles(
  dir: string,
  includeLocal: boolean,
): { vars: Record<string, string>; files: string[] } {
  const names = includeLocal ? [".env", ".env.local"] : [".env"];
  const vars: Record<string, string> = {};
  const files: string[] = [];
  for (const name of names) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    Object.assign(vars, parseDotenv(readFileSync(file, "utf8")));
    files.push(file);
  }
  return { vars, files };
}
