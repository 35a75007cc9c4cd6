/** `partyhouse/react`: partysocket's React hooks (`usePartySocket`, `useWebSocket`), re-exported. */
export * from "partysocket/react";
export { default } from "partysocket/react";
