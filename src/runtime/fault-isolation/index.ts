export { FaultIsolation, RESET_REASON } from "./isolation.js";
export { roomScope } from "./scope.js";
export type { FaultKind, FaultOwner, RoomScope } from "./scope.js";
