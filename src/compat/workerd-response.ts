/**
 * workerd's Response accepts what the WHATWG one refuses: `status: 101` with a `webSocket` (the
 * client end of a WebSocketPair) to answer an upgrade. This subclass takes both and otherwise is
 * the platform's Response; `instanceof Response` stays true for every platform Response too.
 */
type WorkerdInit = ResponseInit & { webSocket?: unknown };

/** Builds the Response class installed as the global in party code. */
export function workerdResponseClass(Native: typeof Response): typeof Response {
  class WorkerdResponse extends Native {
    constructor(body?: BodyInit | null, init?: WorkerdInit) {
      const webSocket = init?.webSocket ?? null;
      if (init?.status === 101) {
        // The WHATWG constructor throws a RangeError for 1xx; build a 200 and report 101.
        super(body, { ...init, status: 200 });
        Object.defineProperty(this, "status", { value: 101, enumerable: true });
        Object.defineProperty(this, "ok", { value: false, enumerable: true });
        Object.defineProperty(this, "statusText", {
          value: init.statusText ?? "Switching Protocols",
        });
      } else {
        super(body, init);
      }
      if (webSocket !== null) Object.defineProperty(this, "webSocket", { value: webSocket });
    }

    /** A platform Response (fetch(), Response.json()) is a Response; a user subclass keeps its own test. */
    static override [Symbol.hasInstance](value: unknown): boolean {
      const proto = this === WorkerdResponse ? Native.prototype : (this.prototype as object);
      return (
        typeof value === "object" &&
        value !== null &&
        Object.prototype.isPrototypeOf.call(proto, value)
      );
    }
  }
  return WorkerdResponse as unknown as typeof Response;
}
