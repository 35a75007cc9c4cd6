/**
 * A PartyDef whose every call into party code runs inside that room's scope (see scope.ts), and
 * whose onStart and onConnect are bounded in time. The core drives it like any other party; it
 * never learns that Node's AsyncLocalStorage is involved.
 */
import type { PartyhouseError } from "../../core/errors.js";
import type { Limits } from "../../core/limits.js";
import { RAW_HANDLER } from "../../core/raw-contract.js";
import type { PartyDef, PartyInstance, RawHandlerInstance } from "../../core/room/party-def.js";
import type {
  AlarmInvocationInfo,
  Connection,
  ConnectionContext,
  Room,
  WSMessage,
} from "../../core/api/types.js";
import { withDeadline } from "./deadline.js";
import { roomScope } from "./scope.js";
import type { FaultOwner, RoomScope } from "./scope.js";

/** What a guarded party needs besides the party: where faults go, and the time limits. */
export interface GuardOptions {
  owner: FaultOwner & {
    /** onStart or onConnect did not settle in time: log it and reset the room. */
    timedOut(scope: RoomScope, error: PartyhouseError): void;
  };
  limits: Pick<Limits, "startTimeoutMs" | "connectTimeoutMs">;
}

/** Wraps a party so its code runs in its room's scope and cannot hang a start or a connect. */
export function guardParty(def: PartyDef, options: GuardOptions): PartyDef {
  return {
    name: def.name,
    statics: def.statics,
    hasOnRequest: def.hasOnRequest,
    wantsRaw: def.wantsRaw,
    create(room: Room): PartyInstance {
      const scope: RoomScope = {
        party: def.name,
        room: room.id,
        facade: room,
        owner: options.owner,
      };
      return new GuardedInstance(
        roomScope.run(scope, () => def.create(room)),
        scope,
        options,
      );
    },
  };
}

class GuardedInstance implements PartyInstance {
  readonly raw: RawHandlerInstance | undefined;

  constructor(
    private readonly inner: PartyInstance,
    private readonly scope: RoomScope,
    private readonly options: GuardOptions,
  ) {
    const raw = inner.raw;
    this.raw =
      raw === undefined
        ? undefined
        : { [RAW_HANDLER]: (kind, value) => this.run(() => raw[RAW_HANDLER](kind, value)) };
  }

  get hibernate(): boolean {
    return this.inner.hibernate;
  }

  private run<T>(fn: () => T): T {
    return roomScope.run(this.scope, fn);
  }

  private bounded<T>(value: T, ms: number, what: string): T {
    return withDeadline(
      value,
      ms,
      `${what} of party "${this.scope.party}" room "${this.scope.room}"`,
      (e) => this.options.owner.timedOut(this.scope, e),
    );
  }

  isBusy(): boolean {
    return this.inner.isBusy();
  }
  dispose(): unknown {
    return this.run(() => this.inner.dispose());
  }
  onStart(): unknown {
    return this.bounded(
      this.run(() => this.inner.onStart()),
      this.options.limits.startTimeoutMs,
      "onStart",
    );
  }
  getConnectionTags(conn: Connection, ctx: ConnectionContext): string[] | Promise<string[]> {
    return this.bounded(
      this.run(() => this.inner.getConnectionTags(conn, ctx)),
      this.options.limits.connectTimeoutMs,
      "getConnectionTags",
    );
  }
  onConnect(conn: Connection, ctx: ConnectionContext): unknown {
    return this.bounded(
      this.run(() => this.inner.onConnect(conn, ctx)),
      this.options.limits.connectTimeoutMs,
      "onConnect",
    );
  }
  onMessage(message: WSMessage, conn: Connection): unknown {
    return this.run(() => this.inner.onMessage(message, conn));
  }
  onClose(conn: Connection): unknown {
    return this.run(() => this.inner.onClose(conn));
  }
  onError(conn: Connection, err: Error): unknown {
    return this.run(() => this.inner.onError(conn, err));
  }
  onRequest(req: Request): Response | Promise<Response> {
    return this.run(() => this.inner.onRequest(req));
  }
  onAlarm(info: AlarmInvocationInfo): unknown {
    return this.run(() => this.inner.onAlarm(info));
  }
}
