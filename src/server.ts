/**
 * `partyhouse/server`: the party API types (`import type * as Party from "partyhouse/server"`),
 * the same shapes as `partykit/server`.
 */
export type * from "./core/api/types.js";
export type * from "./core/api/storage-api.js";
