/**
 * The shim's C ABI, as one `as const` symbol table (the shape deno_bindgen generates).
 * `docs/plan-and-shim.md` documents each symbol.
 *
 * @module
 */

/** The ABI version this binding speaks; the shim must report the same. */
export const SHIM_ABI_VERSION = 1;

/** Symbol table for `Deno.dlopen`. */
export const SHIM_SYMBOLS = {
  charter_abi_version: { parameters: [], result: "u32" },
  charter_probe: { parameters: ["buffer", "usize"], result: "usize" },
  charter_launch: {
    parameters: ["buffer", "usize", "buffer", "usize", "buffer", "usize"],
    result: "i64",
  },
  charter_outcome: { parameters: ["buffer", "usize"], result: "usize" },
  charter_wait: { parameters: ["u64"], result: "i32", nonblocking: true },
  charter_signal: { parameters: ["u64", "i32"], result: "i32" },
  charter_release: { parameters: ["u64"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
