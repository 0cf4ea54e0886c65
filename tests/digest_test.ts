import assert from "node:assert/strict";
import {
  Base64Error,
  fromBase64,
  fromBase64AnyAlphabet,
  toBase64,
  toHex,
} from "../crypto/digest.ts";

/** The encodings as the specs define them, spelled out byte by byte. */
const referenceBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const referenceHex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("base64 and hex encode every length and byte as the specs do, and decode back", () => {
  for (let length = 0; length < 70; length++) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    const text = toBase64(bytes);
    assert.equal(text, referenceBase64(bytes));
    assert.equal(toHex(bytes), referenceHex(bytes));
    assert.deepEqual(fromBase64(text), bytes);
    assert.deepEqual(fromBase64AnyAlphabet(text), bytes);
    const url = text.replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    assert.deepEqual(fromBase64AnyAlphabet(url), bytes);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(toBase64(all), referenceBase64(all));
  assert.equal(toHex(all), referenceHex(all));
});

Deno.test("fromBase64 accepts only the one canonical padded spelling", () => {
  assert.equal(new TextDecoder().decode(fromBase64("aGk=")), "hi");
  // The platform decoder skips whitespace and accepts missing padding or stray bits;
  // a signed payload must still have exactly one spelling.
  for (
    const text of [
      "aG k=",
      "aGk=\n",
      " aGk=",
      "aG\tk=",
      "aGk",
      "aGl=",
      "aGk==",
      "a===",
      "*Gk=",
      "-_8=",
    ]
  ) {
    assert.throws(() => fromBase64(text), Base64Error, JSON.stringify(text));
  }
});

Deno.test("fromBase64AnyAlphabet takes either alphabet, padded or not, and nothing looser", () => {
  assert.deepEqual(Array.from(fromBase64AnyAlphabet("-_8")), [251, 255]);
  assert.deepEqual(Array.from(fromBase64AnyAlphabet("+/8=")), [251, 255]);
  assert.deepEqual(Array.from(fromBase64AnyAlphabet("aGk")), [104, 105]);
  for (const text of ["-/8=", "aGl", "aG k", "aGk=\n", "aGk==", "aG=k"]) {
    assert.throws(() => fromBase64AnyAlphabet(text), Base64Error, JSON.stringify(text));
  }
});
