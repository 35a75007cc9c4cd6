/**
 * `partyhouse/client`: the official `partysocket` client, re-exported. partyhouse serves the
 * same wire protocol as PartyKit, so there is no second client to keep in step.
 */
export * from "partysocket";
export { default } from "partysocket";
