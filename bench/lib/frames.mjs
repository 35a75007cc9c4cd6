// WebSocket client frames built once and reused, a hand-written handshake, and a reader that walks
// server frames by their headers (counting them and reading a fixed-offset timestamp) without
// decoding any message in JS. This keeps the load generator far cheaper than the servers it drives.
import { randomBytes } from "node:crypto";
import net from "node:net";

/** Microseconds on CLOCK_MONOTONIC: comparable across processes on one machine. */
export function nowUs() {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1e3);
}

/** Digits of a timestamp marker inside payloads (µs mod 10^13 as ASCII digits). */
export const TS_DIGITS = 13;

/**
 * A masked client frame template. `payload` is the text to send; `tsOffset` (or -1) is where in the
 * payload a timestamp's digits go, patched per send with `stamp()`.
 */
export class FrameTemplate {
  /**
   * @param {string} payload
   * @param {number} tsOffset
   * @param {number} [opcode]
   */
  constructor(payload, tsOffset = -1, opcode = 0x1) {
    const body = Buffer.from(payload);
    const len = body.length;
    const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
    const head = 2 + ext + 4;
    const frame = Buffer.alloc(head + len);
    frame[0] = 0x80 | opcode;
    if (ext === 0) frame[1] = 0x80 | len;
    else if (ext === 2) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(len, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = randomBytes(4);
    mask.copy(frame, 2 + ext);
    for (let i = 0; i < len; i++) frame[head + i] = body[i] ^ mask[i & 3];
    this.frame = frame;
    this.mask = mask;
    this.payloadStart = head;
    this.payloadLength = len;
    this.tsOffset = tsOffset;
    this.length = frame.length;
  }

  /** Writes the timestamp digits, masked, into `buf` holding a copy of this frame at `at`. */
  stamp(buf, at, us) {
    let v = us % 1e13;
    const start = at + this.payloadStart + this.tsOffset;
    for (let i = TS_DIGITS - 1; i >= 0; i--) {
      const digit = v % 10;
      v = (v - digit) / 10;
      buf[start + i] = (48 + digit) ^ this.mask[(this.tsOffset + i) & 3];
    }
  }

  /** `n` copies of the frame back to back (a batch written with one syscall). */
  repeat(n) {
    const out = Buffer.allocUnsafe(this.length * n);
    for (let i = 0; i < n; i++) this.frame.copy(out, i * this.length);
    return out;
  }
}

/** A text payload of `size` ASCII bytes: `prefix`, a timestamp's digits, filler, `suffix`. */
export function textPayload(size, prefix = "", suffix = "") {
  const filler = "x".repeat(Math.max(0, size - prefix.length - suffix.length - TS_DIGITS));
  return { payload: prefix + "0".repeat(TS_DIGITS) + filler + suffix, tsOffset: prefix.length };
}

export const CLOSE_FRAME = new FrameTemplate("", -1, 0x8).frame;
const PONG_EMPTY = new FrameTemplate("", -1, 0xa).frame;

/**
 * Walks server-to-client frames (unmasked) in a byte stream. Per frame it calls
 * `onFrame(opcode, length, ts, firstByte)`; `ts` is the marker read at `tsAt` in the payload, or -1.
 */
export class FrameReader {
  /**
   * @param {number} tsAt payload offset of timestamp digits, or -1 to skip
   * @param {(opcode: number, length: number, ts: number, firstByte: number) => void} onFrame
   */
  constructor(tsAt, onFrame) {
    this.tsAt = tsAt;
    this.onFrame = onFrame;
    this.hdr = Buffer.alloc(10);
    this.hdrHave = 0;
    this.hdrNeed = 2;
    this.opcode = 0;
    this.remaining = -1; // -1: reading a header
    this.payloadPos = 0;
    this.payloadLen = 0;
    this.ts = 0;
    this.first = -1;
  }

  /**
   * @param {Buffer} chunk
   * @param {number} [n] bytes of `chunk` to read
   */
  push(chunk, n = chunk.length) {
    let i = 0;
    while (i < n) {
      if (this.remaining < 0) {
        // Header: 2 bytes, then 0, 2 or 8 bytes of extended length (servers never mask).
        while (this.hdrHave < this.hdrNeed && i < n) this.hdr[this.hdrHave++] = chunk[i++];
        if (this.hdrHave < this.hdrNeed) return;
        if (this.hdrNeed === 2) {
          const l = this.hdr[1] & 0x7f;
          if (l === 126) {
            this.hdrNeed = 4;
            continue;
          }
          if (l === 127) {
            this.hdrNeed = 10;
            continue;
          }
          this.payloadLen = l;
        } else if (this.hdrNeed === 4) this.payloadLen = this.hdr.readUInt16BE(2);
        else this.payloadLen = Number(this.hdr.readBigUInt64BE(2));
        this.opcode = this.hdr[0] & 0x0f;
        this.remaining = this.payloadLen;
        this.payloadPos = 0;
        this.ts = 0;
        this.first = -1;
        this.hdrHave = 0;
        this.hdrNeed = 2;
        if (this.remaining === 0) {
          this.remaining = -1;
          this.onFrame(this.opcode, 0, -1, -1);
        }
        continue;
      }
      const take = Math.min(this.remaining, n - i);
      const pos = this.payloadPos;
      if (pos === 0 && take > 0) this.first = chunk[i];
      if (this.tsAt >= 0) {
        // Only the marker's digits are looked at; the rest of the payload is skipped.
        const from = Math.max(pos, this.tsAt);
        const to = Math.min(pos + take, this.tsAt + TS_DIGITS);
        for (let p = from; p < to; p++) {
          const d = chunk[i + p - pos] - 48;
          this.ts = this.ts * 10 + (d >= 0 && d <= 9 ? d : 0);
        }
      }
      i += take;
      this.payloadPos += take;
      this.remaining -= take;
      if (this.remaining === 0) {
        this.remaining = -1;
        const complete = this.tsAt >= 0 && this.payloadLen >= this.tsAt + TS_DIGITS;
        this.onFrame(this.opcode, this.payloadLen, complete ? this.ts : -1, this.first);
      }
    }
  }
}

const KEY = Buffer.from("cGFydHlob3VzZWJlbmNoIQ==");
// Every socket reads into this one buffer (`onread`): no Buffer is allocated per read, and the
// frame reader never keeps a reference to the bytes it walks.
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/**
 * Opens a TCP connection and performs the WebSocket handshake by hand. Resolves with the socket and
 * `listen(fn)`: from then on `fn(buffer, length)` receives every read (the bytes that followed the
 * 101 response first).
 * @param {{ host: string, port: number, path: string, localAddress?: string, timeoutMs?: number }} o
 * @returns {Promise<{ socket: net.Socket, listen: (fn: (buf: Buffer, n: number) => void) => void }>}
 */
export function handshake(o) {
  return new Promise((resolve, reject) => {
    let onBytes = (buf, n) => head(buf, n);
    const socket = net.connect({
      host: o.host,
      port: o.port,
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
      onread: { buffer: READ_BUFFER, callback: (n, buf) => onBytes(buf, n) },
    });
    socket.setNoDelay(true);
    let acc = Buffer.alloc(0);
    let early = null;
    const timer = setTimeout(
      () => fail(new Error(`handshake timeout ${o.path}`)),
      o.timeoutMs ?? 30000,
    );
    const fail = (e) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    const head = (buf, n) => {
      acc = Buffer.concat([acc, buf.subarray(0, n)]);
      const end = acc.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("error", fail);
      clearTimeout(timer);
      const status = acc.subarray(0, acc.indexOf("\r\n")).toString();
      if (!status.includes(" 101 ")) {
        socket.destroy();
        reject(new Error(`handshake ${o.path}: ${status}`));
        return;
      }
      const rest = acc.subarray(end + 4);
      early = rest.length > 0 ? rest : null;
      onBytes = (b, len) => {
        // Bytes that arrive before the caller listens are kept in order.
        const copy = Buffer.from(b.subarray(0, len));
        early = early === null ? copy : Buffer.concat([early, copy]);
      };
      resolve({
        socket,
        listen(fn) {
          if (early !== null) fn(early, early.length);
          early = null;
          onBytes = fn;
        },
      });
    };
    socket.on("error", fail);
    socket.on("connect", () => {
      socket.write(
        `GET ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  });
}

/** Answers pings so that servers with heartbeats keep us (engine.io's "2" needs the caller). */
export function pong(socket) {
  socket.write(PONG_EMPTY);
}

export const EIO_PONG = new FrameTemplate("3").frame;
export const EIO_CONNECT = new FrameTemplate("40").frame;
