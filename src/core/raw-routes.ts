/**
 * The routes parties declare outside `/parties/…` (RAW_ROUTE, see raw-contract.ts), gathered once
 * per set of party exports: `main` first, then config order.
 */
import { RAW_ROUTE } from "./raw-contract.js";
import type { RawRoute } from "./raw-contract.js";
import type { PartyRoute } from "./router.js";

export function declaredRoutes(
  parties: Readonly<Record<string, unknown>>,
): ((pathname: string, url: string) => PartyRoute | null) | null {
  const names = ["main", ...Object.keys(parties).filter((n) => n !== "main")];
  const routes: Array<[party: string, route: RawRoute]> = [];
  for (const name of names) {
    const exported = parties[name];
    if (exported === undefined || exported === null) continue;
    const route = (exported as Record<symbol, unknown>)[RAW_ROUTE];
    if (typeof route === "function") routes.push([name, route.bind(exported) as RawRoute]);
  }
  if (routes.length === 0) return null;
  return (pathname, url) => {
    for (const [party, route] of routes) {
      const room = route(pathname, url);
      if (room !== null) return { party, room };
    }
    return null;
  };
}
