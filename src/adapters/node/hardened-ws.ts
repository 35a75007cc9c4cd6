/**
 * The `ws` WebSocket partyhouse's server creates (ws's `WebSocket` server option): the library's
 * class with two answers changed to workerd's, and the heartbeat's bookkeeping.
 */
import { isUtf8 } from "node:buffer";
import { WebSocket } from "ws";

/** ws's receiver fields (not in its type declarations) that say how big the refused message was. */
interface ReceiverInternals {
  _totalPayloadLength?: number;
  _maxPayload?: number;
}

interface WsInternals {
  _receiver?: ReceiverInternals;
  _closeFrameReceived?: boolean;
  _closeFrameSent?: boolean;
}

export class HardenedWebSocket extends WebSocket {
  /** When the last ping left, 0 while none is unanswered (see heartbeat.ts). */
  pingSentAt = 0;
  /** When the peer last answered a ping (or connected). */
  lastPong = Date.now();

  override close(code?: number, data?: string | Buffer): void {
    const self = this as unknown as WsInternals;
    if (code === 1009 && data === undefined) {
      // ws closes an oversized message with 1009 and no reason; workerd (kj's WebSocket) says
      // "Message is too large: <n> > <limit>", and PartyKit clients may show it.
      const r = self._receiver;
      if (r?._totalPayloadLength !== undefined && r._maxPayload !== undefined) {
        data = `Message is too large: ${r._totalPayloadLength} > ${r._maxPayload}`;
      }
    } else if (
      self._closeFrameReceived === true &&
      self._closeFrameSent !== true &&
      Buffer.isBuffer(data) &&
      !isUtf8(data)
    ) {
      // ws echoes the peer's close frame. With skipUTF8Validation (text frames are decoded with
      // U+FFFD, as workerd does) it would echo a reason that is not UTF-8 with the peer's code;
      // RFC 6455 §8.1 says such an endpoint fails the connection: 1007, as workerd answers.
      code = 1007;
      data = "Invalid UTF-8 in close reason";
    }
    super.close(code, data);
  }
}

/** Shared pong listener (ws calls it with `this` set to the socket). */
export function onPong(this: WebSocket): void {
  const ws = this as HardenedWebSocket;
  ws.pingSentAt = 0;
  ws.lastPong = Date.now();
}
