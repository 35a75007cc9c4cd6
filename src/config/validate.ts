/**
 * A small structural validator: enough JSON-schema to check partykit.json with messages that name
 * the field path (`serve.singlePageApp must be a boolean, got "yes"`). Hand-written instead of a
 * schema library because the messages are the product here.
 */
import { PartyhouseError } from "../core/errors.js";

export type Schema =
  | { kind: "string"; enum?: readonly string[] }
  | { kind: "number"; integer?: boolean; min?: number; max?: number; nullable?: boolean }
  | { kind: "boolean" }
  | { kind: "any" }
  | { kind: "array"; items: Schema }
  | { kind: "record"; values: Schema }
  | { kind: "object"; props: Readonly<Record<string, Schema>>; required?: readonly string[] }
  | { kind: "union"; options: readonly Schema[] };

export const str: Schema = { kind: "string" };
export const bool: Schema = { kind: "boolean" };
export const num: Schema = { kind: "number" };
export const any: Schema = { kind: "any" };
export const strArray: Schema = { kind: "array", items: str };
export const strRecord: Schema = { kind: "record", values: str };

/** Shows a bad value in a message: JSON where possible, cut short so one line stays one line. */
export function show(value: unknown): string {
  let text: string;
  if (value === undefined) text = "undefined";
  else if (Array.isArray(value)) text = "an array";
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describe(schema: Schema): string {
  switch (schema.kind) {
    case "string":
      return schema.enum
        ? `one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`
        : "a string";
    case "number": {
      const base = schema.integer
        ? schema.min !== undefined && schema.min > 0
          ? "a positive integer"
          : "an integer"
        : "a number";
      return schema.nullable ? `${base} or null` : base;
    }
    case "boolean":
      return "a boolean";
    case "any":
      return "any value";
    case "array":
      return "an array";
    case "record":
    case "object":
      return "an object";
    case "union":
      return schema.options.map(describe).join(" or ");
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether a value has the broad JSON type a schema wants, so a union can pick its branch. */
function matchesKind(schema: Schema, value: unknown): boolean {
  switch (schema.kind) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" || (schema.nullable === true && value === null);
    case "boolean":
      return typeof value === "boolean";
    case "any":
      return true;
    case "array":
      return Array.isArray(value);
    case "record":
    case "object":
      return isPlainObject(value);
    case "union":
      return schema.options.some((o) => matchesKind(o, value));
  }
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/**
 * Checks `value` against `schema`. Throws PH_ERR_CONFIG naming the first bad field, prefixed with
 * `source` (for example `partykit.json`).
 */
export function validate(schema: Schema, value: unknown, source: string, path = ""): void {
  const fail = (text: string): never => {
    throw new PartyhouseError("PH_ERR_CONFIG", `${source}: ${text}`);
  };
  const name = path === "" ? "the config" : path;
  const wrongType = (): never => fail(`${name} must be ${describe(schema)}, got ${show(value)}`);

  switch (schema.kind) {
    case "any":
      return;
    case "string":
      if (typeof value !== "string") wrongType();
      if (schema.enum && !schema.enum.includes(value as string)) wrongType();
      return;
    case "boolean":
      if (typeof value !== "boolean") wrongType();
      return;
    case "number": {
      if (value === null && schema.nullable) return;
      if (typeof value !== "number" || !Number.isFinite(value)) return wrongType();
      if (schema.integer && !Number.isInteger(value)) wrongType();
      if (schema.min !== undefined && value < schema.min) wrongType();
      if (schema.max !== undefined && value > schema.max)
        fail(`${name} must be at most ${schema.max}, got ${show(value)}`);
      return;
    }
    case "array":
      if (!Array.isArray(value)) return wrongType();
      value.forEach((item, i) => validate(schema.items, item, source, `${name}[${i}]`));
      return;
    case "record":
      if (!isPlainObject(value)) return wrongType();
      for (const [key, item] of Object.entries(value))
        validate(schema.values, item, source, join(path, key));
      return;
    case "object": {
      if (!isPlainObject(value)) return wrongType();
      const allowed = Object.keys(schema.props);
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(schema.props, key)) {
          const where = path === "" ? "" : ` in ${path}`;
          fail(`unknown field "${join(path, key)}"; allowed fields${where}: ${allowed.join(", ")}`);
        }
      }
      for (const key of schema.required ?? []) {
        if (value[key] === undefined) fail(`${join(path, key)} is required`);
      }
      for (const [key, item] of Object.entries(value)) {
        // JSON has no undefined, but package.json#partykit may come from a merged object.
        if (item !== undefined)
          validate(schema.props[key] as Schema, item, source, join(path, key));
      }
      return;
    }
    case "union": {
      const branch = schema.options.find((o) => matchesKind(o, value));
      if (!branch) return wrongType();
      validate(branch, value, source, path);
      return;
    }
  }
}
