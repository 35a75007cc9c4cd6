import { PartyhouseError } from "../errors.js";

/**
 * The tags of a new connection: its id first, then what getConnectionTags returned. In hibernating
 * rooms the Cloudflare limits apply (10 tags with the id, non-empty strings of ≤ 256 characters).
 */
export function normalizeTags(id: string, tags: unknown, strict: boolean): string[] {
  if (!Array.isArray(tags)) {
    throw new PartyhouseError("PH_ERR_TAGS", "getConnectionTags must return an array of strings");
  }
  const all = [id, ...(tags as unknown[]).filter((t) => t !== id)];
  if (strict) {
    // Cloudflare's hibernation API enforces these; PartyKit surfaces them the same way.
    if (all.length > 10) {
      throw new PartyhouseError(
        "PH_ERR_TAGS",
        "A connection can only have 10 tags, including the default id tag.",
      );
    }
    for (const tag of all) {
      if (typeof tag !== "string") {
        throw new PartyhouseError(
          "PH_ERR_TAGS",
          `A connection tag must be a string. Received: ${String(tag)}`,
        );
      }
      if (tag === "")
        throw new PartyhouseError("PH_ERR_TAGS", "A connection tag must not be an empty string.");
      if (tag.length > 256) {
        throw new PartyhouseError("PH_ERR_TAGS", "A connection tag must not exceed 256 characters");
      }
    }
  }
  return all as string[];
}
