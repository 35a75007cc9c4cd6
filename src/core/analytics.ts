import type { AnalyticsLike } from "./api/types.js";

/** Cloudflare Analytics Engine does not exist here; writes are accepted and dropped, as in `partykit dev`. */
export const noopAnalytics: AnalyticsLike = {
  writeDataPoint() {},
};
