import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseDotenv } from "../../src/config/dotenv.js";

describe("parseDotenv", () => {
  it("reads plain, exported, quoted and commented lines", () => {
    const text = [
      "# a comment",
      "PLAIN=value",
      "SPACED = padded value  ",
      "export EXPORTED=yes",
      "EMPTY=",
      "COMMENTED=before # after",
      "SINGLE='single # not a comment'",
      'DOUBLE="line1\\nline2"',
      'BACKTICK=`it\'s "quoted"`',
      "SINGLE_ESCAPE='a\\nb'",
      "dotted.key-name=ok",
      "not a line",
      "PLAIN=last wins",
    ].join("\n");
    assert.deepEqual(parseDotenv(text), {
      PLAIN: "last wins",
      SPACED: "padded value",
      EXPORTED: "yes",
      EMPTY: "",
      COMMENTED: "before",
      SINGLE: "single # not a comment",
      DOUBLE: "line1\nline2",
      BACKTICK: `it's "quoted"`,
      SINGLE_ESCAPE: "a\\nb",
      "dotted.key-name": "ok",
    });
  });

  it("reads multi-line quoted values and CRLF files", () => {
    const text = 'KEY="-----BEGIN-----\r\nabc\r\n-----END-----"\r\nNEXT=1\r\n';
    assert.deepEqual(parseDotenv(text), { KEY: "-----BEGIN-----\nabc\n-----END-----", NEXT: "1" });
  });

  it("takes an unterminated quote literally to the end of the line", () => {
    assert.deepEqual(parseDotenv('A="open\nB=2'), { A: '"open', B: "2" });
  });
});
