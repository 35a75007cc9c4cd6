import { noopAnalytics } from "../analytics.js";
import type { ExecutionContext, FetchLobby, Lobby } from "../api/types.js";
import type { RoomShared } from "./room-shared.js";
import type { Logger } from "../log.js";

/** The lobby static handlers receive (onFetch, onSocket, onCron): no room yet. */
export function fetchLobby(shared: RoomShared): FetchLobby {
  return {
    env: shared.env,
    parties: shared.parties,
    assets: shared.assets,
    ai: shared.context.ai,
    vectorize: {},
    analytics: noopAnalytics,
    bindings: { r2: {}, kv: {} },
  };
}

/** The lobby onBeforeConnect/onBeforeRequest receive: the fetch lobby plus the room id. */
export function roomLobby(shared: RoomShared, id: string): Lobby {
  return { ...fetchLobby(shared), id };
}

/** waitUntil keeps a promise's failure visible in the log instead of an unhandled rejection. */
export function executionContext(log: Logger): ExecutionContext {
  return {
    waitUntil(promise) {
      promise.catch((e: unknown) =>
        log.error("PH_ERR_HANDLER", `waitUntil: ${e instanceof Error ? e.message : String(e)}`),
      );
    },
    passThroughOnException() {},
  };
}
