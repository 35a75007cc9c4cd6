/** Static assets: serving `serve.path` with PartyKit's rules. */
export { createAssetHandler } from "./handler.js";
export type { AssetHandler } from "./handler.js";
export { contentTypeFor, mimeType } from "./content-type.js";
