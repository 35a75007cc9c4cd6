/**
 * URL path → file path inside the served folder, or null. Everything that could step outside the
 * folder is refused here, before the file system is touched: `..` and `.` segments (including
 * percent-encoded `%2e%2e` and `%2f`/`%5c` separators, decoded first), backslashes, NUL bytes.
 * Dotfiles and node_modules are refused too: PartyKit never uploads them, and a served folder
 * may well hold a `.env`.
 */
import { resolve, sep } from "node:path";

/**
 * Returns the relative, `/`-separated file path a URL pathname names (`/` and trailing slashes
 * name `index.html`), or null when it is malformed or not servable.
 */
export function assetPathFromUrl(pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null; // malformed percent-encoding
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return null;
  if (decoded.endsWith("/")) decoded += "index.html";
  const segments = decoded.split("/").filter((s) => s !== "");
  if (segments.length === 0) return null;
  for (const segment of segments) {
    if (segment.startsWith(".") || segment === "node_modules") return null;
  }
  return segments.join("/");
}

/**
 * The absolute file for a relative asset path, or null if it would land outside `root`
 * (a second guard, should a caller hand in a path that did not come from assetPathFromUrl).
 */
export function fileInRoot(root: string, relative: string): string | null {
  const base = resolve(root);
  const file = resolve(base, relative);
  return file.startsWith(base + sep) ? file : null;
}

/**
 * The resolved file (symlinks followed) if it is still inside the resolved `root` and its path
 * there names no dotfile or node_modules, else null. Both arguments come from realpath().
 */
export function realFileInRoot(realRoot: string, realFile: string): string | null {
  if (!realFile.startsWith(realRoot + sep)) return null;
  const inside = realFile.slice(realRoot.length + 1).split(sep);
  return inside.some((s) => s.startsWith(".") || s === "node_modules") ? null : realFile;
}
