/**
 * Values are stored as V8 structured-clone bytes, as Cloudflare stores them: Map, Set, Date,
 * RegExp, bigint, ArrayBuffer, typed arrays and cycles survive; functions and symbols do not.
 */
import { DefaultDeserializer, serialize } from "node:v8";
import { PartyhouseError, errorMessage } from "../core/errors.js";
import { decodePlain, encodePlain } from "./plain-codec.js";

/**
 * workerd enforces the advertised value limit plus 34 bytes, so that a value of exactly the limit
 * (a 128 KiB ArrayBuffer or string) fits despite V8's header and type tags. We grant the same.
 */
export const VALUE_SIZE_SLACK = 34;

/**
 * Serializes `value` for `key` now, so later mutation of the caller's object does not change what
 * is stored. Throws PH_ERR_STORAGE_VALUE for uncloneable or oversized values.
 */
export function encodeValue(key: string, value: unknown, maxValueBytes: number): Uint8Array {
  // Small plain values skip V8's serializer (same bytes, see plain-codec.ts). One over the limit
  // goes to V8 too, so that V8's size decides, as on workerd.
  const plain = encodePlain(value);
  if (plain !== undefined && plain.byteLength <= maxValueBytes + VALUE_SIZE_SLACK) return plain;
  let bytes: Buffer;
  try {
    bytes = serialize(value);
  } catch (e) {
    // V8's own message ("() => 1 could not be cloned."), as workerd reports it.
    throw new PartyhouseError("PH_ERR_STORAGE_VALUE", errorMessage(e), { cause: e });
  }
  if (bytes.byteLength > maxValueBytes + VALUE_SIZE_SLACK) {
    throw new PartyhouseError(
      "PH_ERR_STORAGE_VALUE",
      `Values cannot be larger than ${maxValueBytes} bytes. ` +
        `A value of size ${bytes.byteLength} was provided.`,
    );
  }
  return bytes;
}

/** Returns a fresh copy of the stored value: nothing it returns shares memory with `bytes`. */
export function decodeValue(bytes: Uint8Array): unknown {
  const plain = decodePlain(bytes, notPlain);
  if (plain !== notPlain) return plain;
  const der = new CopyingDeserializer(bytes);
  der.readHeader();
  return der.readValue();
}

/** decodePlain's answer for bytes it leaves to V8. */
const notPlain: unique symbol = Symbol("partyhouse.codec.notPlain");

type ViewConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => unknown;

/**
 * Node's default deserializer returns typed arrays that are views into the input bytes, so a
 * caller writing into a returned Uint8Array would write into our stored copy, and `.buffer` would
 * expose the whole serialized value. This one copies each view into its own ArrayBuffer.
 */
class CopyingDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    const read = (DefaultDeserializer.prototype as unknown as { _readHostObject(): unknown })
      ._readHostObject;
    const view = read.call(this) as ArrayBufferView;
    const own = new Uint8Array(view.byteLength);
    own.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    if (Buffer.isBuffer(view)) return Buffer.from(own.buffer);
    if (view instanceof DataView) return new DataView(own.buffer);
    const ctor = view.constructor as ViewConstructor & { BYTES_PER_ELEMENT: number };
    return new ctor(own.buffer, 0, view.byteLength / ctor.BYTES_PER_ELEMENT);
  }
}
