import { errorMessage } from "../../core/errors.js";
import type { PartyhouseError } from "../../core/errors.js";
import type { RoomHost } from "../../core/room/host.js";
import type { Limits } from "../../core/limits.js";
import type { Logger } from "../../core/log.js";
import type { PartyDef } from "../../core/room/party-def.js";
import type { Room } from "../../core/api/types.js";
import { guardParty } from "./guard-party.js";
import type { GuardOptions } from "./guard-party.js";
import { installProcessHandlers } from "./process-handlers.js";
import type { FaultKind, RoomScope } from "./scope.js";

/** The close reason a reset room's sockets get (with 1011). */
export const RESET_REASON = "Room reset after an uncaught error";

/**
 * One server's fault isolation: a fault of a room's code resets only that room (sockets 1011,
 * instance dropped, storage kept) and the process goes on, as a Durable Object is reset on its own.
 *
 * @example
 * const isolation = new FaultIsolation(log, limits);
 * const defs = isolation.guard(parties);       // before the host is built
 * isolation.attach(host);                       // installs the process listeners
 * // ... on close:
 * isolation.detach();
 */
export class FaultIsolation implements GuardOptions {
  private host: RoomHost | undefined;
  private uninstall: (() => void) | undefined;
  /** Faults of instances already reset: logged once each, then only counted. */
  private readonly stale = new WeakMap<Room, number>();

  constructor(
    private readonly log: Logger,
    readonly limits: Pick<Limits, "startTimeoutMs" | "connectTimeoutMs">,
  ) {}

  get owner(): this {
    return this;
  }

  /** Wraps every party so its code runs in its room's scope. */
  guard(defs: Map<string, PartyDef>): Map<string, PartyDef> {
    const out = new Map<string, PartyDef>();
    for (const [name, def] of defs) out.set(name, guardParty(def, this));
    return out;
  }

  attach(host: RoomHost): void {
    this.host = host;
    this.uninstall ??= installProcessHandlers(this);
  }

  detach(): void {
    this.uninstall?.();
    this.uninstall = undefined;
  }

  fault(scope: RoomScope, kind: FaultKind, error: unknown): void {
    this.reset(
      scope,
      "PH_ERR_ROOM_FAULT",
      `${kind}: ${errorMessage(error)}`,
      error,
      kind,
      RESET_REASON,
    );
  }

  timedOut(scope: RoomScope, error: PartyhouseError): void {
    // The sockets of a room reset for a timeout say which handler hung.
    this.reset(scope, "PH_ERR_TIMEOUT", error.message, error, "timeout", error.message);
  }

  unattributed(kind: FaultKind, error: unknown): void {
    this.log.error(
      "PH_ERR_UNATTRIBUTED_FAULT",
      `${kind} outside any room (the process keeps running): ${errorMessage(error)}`,
      { kind, stack: error instanceof Error ? error.stack : undefined },
    );
  }

  private reset(
    scope: RoomScope,
    code: "PH_ERR_ROOM_FAULT" | "PH_ERR_TIMEOUT",
    what: string,
    error: unknown,
    kind: string,
    reason: string,
  ): void {
    const { party, room, facade } = scope;
    const fields = { party, room, kind, stack: error instanceof Error ? error.stack : undefined };
    const dropped = this.host?.resetRoom(party, room, facade, reason) === true;
    if (dropped) {
      this.log.error(
        code,
        `party "${party}" room "${room}": ${what}; the room was reset (sockets closed with 1011, storage kept)`,
        fields,
      );
      return;
    }
    // A timer or promise of an instance that was already reset (or evicted) can keep failing:
    // Node cannot cancel what that code started. Say so once, then stay quiet.
    const seen = this.stale.get(facade) ?? 0;
    this.stale.set(facade, seen + 1);
    if (seen === 0) {
      this.log.error(
        code,
        `party "${party}" room "${room}": ${what}; it came from an instance that is no longer live (nothing reset; further faults of it are not logged)`,
        fields,
      );
    }
  }
}
