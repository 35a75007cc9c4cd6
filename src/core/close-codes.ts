/** WebSocket close codes partyhouse sends, with the RFC 6455 meaning we rely on. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** Policy violation: used for slow consumers that stopped reading. */
  POLICY: 1008,
  /** Message too big (maxMessageBytes). */
  TOO_BIG: 1009,
  /** Internal error: PartyKit closes with 1011 and the error text when connecting fails. */
  INTERNAL: 1011,
  /** Service restart: sent on graceful shutdown so clients reconnect. */
  RESTART: 1012,
  /** Try again later: the room is full. */
  TRY_AGAIN: 1013,
} as const;

/** A close reason must fit in a control frame: 123 bytes of UTF-8. */
export function truncateReason(reason: string): string {
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  let out = reason;
  while (new TextEncoder().encode(out).length > 120) out = out.slice(0, -1);
  return out + "...";
}
