/**
 * partykit.json as PartyKit's CLI accepts it (its published schema.json, field for field), plus
 * partyhouse's own `limits`. Fields that only mean something on PartyKit's cloud (team, ai,
 * vectorize, domain, ...) are accepted and ignored, so an existing project loads unchanged.
 */
import { defaultLimits, zeroDisables } from "../core/limits.js";
import type { Limits } from "../core/limits.js";
import type { ClientLoader, JsonValue } from "./types.js";
import { any, bool, num, str, strArray, strRecord } from "./validate.js";
import type { Schema } from "./validate.js";

const loaders: readonly ClientLoader[] = [
  "base64",
  "binary",
  "copy",
  "css",
  "dataurl",
  "default",
  "empty",
  "file",
  "js",
  "json",
  "jsx",
  "local-css",
  "text",
  "ts",
  "tsx",
];

const clientBuild: Schema = {
  kind: "object",
  props: {
    entry: { kind: "union", options: [str, strArray] },
    bundle: bool,
    splitting: bool,
    external: strArray,
    outdir: str,
    minify: bool,
    alias: strRecord,
    format: { kind: "string", enum: ["esm", "cjs", "iife"] },
    live: bool,
    sourcemap: bool,
    define: strRecord,
    loader: { kind: "record", values: { kind: "string", enum: loaders } },
  },
};

const ttl: Schema = { kind: "number", nullable: true, min: 0 };

const serveObject: Schema = {
  kind: "object",
  props: {
    path: str,
    build: { kind: "union", options: [str, clientBuild] },
    include: strArray,
    exclude: strArray,
    browserTTL: ttl,
    edgeTTL: ttl,
    singlePageApp: bool,
    // partyhouse's own (see ServeConfig.symlinks).
    symlinks: { kind: "string", enum: ["inside", "refuse"] },
  },
};

/** `limits`, as partykit.json and `startPartyhouse({ limits })` both take it (see limits.ts). */
export const limitsSchema: Schema = {
  kind: "object",
  props: Object.fromEntries(
    Object.keys(defaultLimits).map((key) => [
      key,
      { kind: "number", integer: true, min: zeroDisables.has(key as keyof Limits) ? 0 : 1 },
    ]),
  ),
};

/** The schema of the whole file. */
export const configSchema: Schema = {
  kind: "object",
  props: {
    $schema: str,
    team: str,
    name: str,
    main: str,
    port: { kind: "number", integer: true, min: 0, max: 65535 },
    preview: str,
    crons: strRecord,
    serve: { kind: "union", options: [str, serveObject] },
    persist: { kind: "union", options: [bool, str] },
    vars: { kind: "record", values: any },
    define: strRecord,
    parties: strRecord,
    build: {
      kind: "object",
      props: {
        command: str,
        cwd: str,
        watch: { kind: "union", options: [str, strArray] },
        alias: strRecord,
      },
    },
    compatibilityDate: str,
    compatibilityFlags: strArray,
    minify: bool,
    ai: {
      kind: "union",
      options: [
        bool,
        { kind: "object", props: { apiGateway: str, apiToken: str, apiAccount: str } },
      ],
    },
    domain: str,
    vectorize: {
      kind: "record",
      values: {
        kind: "union",
        options: [str, { kind: "object", props: { index_name: str }, required: ["index_name"] }],
      },
    },
    logpush: bool,
    tailConsumers: strArray,
    analytics: str,
    bindings: { kind: "object", props: { r2: strRecord, kv: strRecord } },
    placement: {
      kind: "object",
      props: { mode: { kind: "string", enum: ["smart"] } },
      required: ["mode"],
    },
    observability: { kind: "object", props: { enabled: bool, head_sampling_rate: num } },
    // partyhouse's own: resource limits (see src/core/limits.ts).
    limits: limitsSchema,
  },
};

export type ClientBuildJson = {
  entry?: string | string[];
  bundle?: boolean;
  splitting?: boolean;
  external?: string[];
  outdir?: string;
  minify?: boolean;
  alias?: Record<string, string>;
  format?: "esm" | "cjs" | "iife";
  live?: boolean;
  sourcemap?: boolean;
  define?: Record<string, string>;
  loader?: Record<string, ClientLoader>;
};

export type ServeJson =
  | string
  | {
      path?: string;
      build?: string | ClientBuildJson;
      include?: string[];
      exclude?: string[];
      browserTTL?: number | null;
      edgeTTL?: number | null;
      singlePageApp?: boolean;
      symlinks?: "inside" | "refuse";
    };

/** The fields partyhouse reads from a config that passed `configSchema`. */
export interface ConfigJson {
  name?: string;
  main?: string;
  port?: number;
  crons?: Record<string, string>;
  serve?: ServeJson;
  persist?: boolean | string;
  vars?: Record<string, JsonValue>;
  define?: Record<string, string>;
  parties?: Record<string, string>;
  build?: {
    command?: string;
    cwd?: string;
    watch?: string | string[];
    alias?: Record<string, string>;
  };
  minify?: boolean;
  limits?: Partial<Limits>;
  ai?: AiJson;
}

/** PartyKit's `ai`: on, or the settings of PartyKit's own AI gateway. */
export type AiJson = boolean | { apiGateway?: string; apiToken?: string; apiAccount?: string };
