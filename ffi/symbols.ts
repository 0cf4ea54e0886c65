/**
 * The shim's C ABI, as `as const` symbol tables (the shape deno_bindgen generates).
 * `docs/plan-and-shim.md` documents each symbol.
 *
 * @module
 */

/** The ABI version this binding speaks; the shim must report the same. */
export const SHIM_ABI_VERSION = 2;

/**
 * Symbols every launch calls, bound by `Deno.dlopen` when the shim is opened. Deno
 * compiles a call trampoline for every synchronous symbol it binds (~0.2 ms each), so
 * the others wait in {@link SHIM_RARE_SYMBOLS}.
 */
export const SHIM_SYMBOLS = {
  charter_abi_version: { parameters: [], result: "u32" },
  charter_launch: {
    parameters: ["buffer", "usize", "buffer", "usize", "buffer", "usize"],
    result: "i64",
  },
  charter_wait: { parameters: ["u64"], result: "i32", nonblocking: true },
  charter_release: { parameters: ["u64"], result: "i32" },
  // Bound up front although few launches forward a signal: forwarding must not depend on
  // a dlopen succeeding inside the signal listener.
  charter_signal: { parameters: ["u64", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * Symbols only some launches call (a probe, an outcome too long for the launch buffer, the
 * denials of a target that failed):
 * bound on first use, by a second `Deno.dlopen` of the same path, which the dynamic loader
 * answers with the library already loaded.
 */
export const SHIM_RARE_SYMBOLS = {
  charter_probe: { parameters: ["buffer", "usize"], result: "usize" },
  charter_outcome: { parameters: ["buffer", "usize"], result: "usize" },
  charter_denials: { parameters: ["u64", "buffer", "usize"], result: "usize" },
} as const satisfies Deno.ForeignLibraryInterface;
