import { serialize } from "node:v8";

/** Serialized (structured-clone) size of a value; throws a DataCloneError for functions etc. */
export function measureSerialized(value: unknown): number {
  return serialize(value).byteLength;
}
