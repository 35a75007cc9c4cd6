/**
 * `serve.include` / `serve.exclude` globs over `/`-separated paths relative to the served folder:
 * `*` (within a segment), `**` (any number of segments), `?` (one character), `{a,b}`. A glob
 * without `/` also matches the file name at any depth, as in .gitignore (`*.map`).
 * PartyKit documents these fields but its CLI rejects them; partyhouse implements the simple form.
 */

function toRegExp(glob: string): RegExp {
  let re = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        i++;
        // `**/` matches zero or more whole segments; a bare `**` anything at all.
        if (glob[i + 1] === "/") {
          i++;
          re += "(?:[^/]*/)*";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "{") {
      braces++;
      re += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      re += ")";
    } else if (c === "," && braces > 0) re += "|";
    else re += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** A predicate over relative paths: included (or no include list) and not excluded. */
export function createPathFilter(
  include: readonly string[],
  exclude: readonly string[],
): (relative: string) => boolean {
  const strip = (g: string) => g.replace(/^\.?\//, "");
  const compile = (g: string) => {
    const re = toRegExp(strip(g));
    if (g.includes("/")) return (path: string) => re.test(path);
    return (path: string) => re.test(path) || re.test(path.slice(path.lastIndexOf("/") + 1));
  };
  const inc = include.map(compile);
  const exc = exclude.map(compile);
  return (relative) =>
    (inc.length === 0 || inc.some((m) => m(relative))) && !exc.some((m) => m(relative));
}
