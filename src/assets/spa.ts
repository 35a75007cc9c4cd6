/**
 * PartyKit's single-page-app fallback: a browser navigation (`Sec-Fetch-Mode: navigate`) that
 * matches no file gets index.html, so client-side routes load the app. Under a room URL
 * (`/party/:room…`, `/parties/:party/:room…`) it only does so for `.html` paths and paths without
 * a known file type, so a missing `/parties/main/room/logo.png` stays a 404.
 */
import { mimeType } from "./content-type.js";

function roomOf(path: string): string | undefined {
  const parts = path.split("/");
  if (path.startsWith("/party/")) return parts[2];
  if (path.startsWith("/parties/")) return parts[3];
  return undefined;
}

/**
 * Whether a navigation to `relative` (the asset path, `index.html` already appended to a trailing
 * slash, no leading slash) falls back to index.html.
 */
export function spaFallsBack(relative: string): boolean {
  if (!roomOf(`/${relative}`)) return true;
  if (relative.endsWith(".html")) return true;
  return mimeType(relative) === null;
}

/** Whether the request is a top-level browser navigation. */
export function isNavigation(request: Request): boolean {
  return request.headers.get("sec-fetch-mode") === "navigate";
}
