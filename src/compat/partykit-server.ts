/**
 * What `partykit/server` resolves to when partyhouse bundles a project. PartyKit's module has no
 * runtime exports (only types), so neither does this one; it exists so that a runtime import of
 * `partykit/server` in user code resolves, and so its types match the party API partyhouse runs.
 */
export type * from "../core/api/types.js";
