/**
 * `partyhouse/server`: the party API types (`import type * as Party from "partyhouse/server"`),
 * the same shapes as `partykit/server`.
 */
export type * from "./core/types.js";
export type * from "./core/storage-api.js";
