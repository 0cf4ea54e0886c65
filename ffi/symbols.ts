/**
 * The shim's C ABI, as `as const` symbol tables (the shape deno_bindgen generates).
 * `docs/plan-and-shim.md` documents each symbol.
 *
 * @module
 */

/** The ABI version this binding speaks; the shim must report the same. */
export const SHIM_ABI_VERSION = 2;

/**
 * Symbols every launch uses, bound by `Deno.dlopen` when the shim is opened.
 *
 * Deno compiles a call trampoline (Cranelift) for every synchronous function it binds
 * whose parameters and result are not structs: ~0.2-0.35 ms each, on every launch. So
 * none is bound that way. `charter_launch` must be synchronous (PR_SET_PDEATHSIG follows
 * the thread that cloned the child), and so must `charter_signal` (forwarding must not
 * need a new thread of Deno's blocking pool when a child may have exhausted the uid's
 * RLIMIT_NPROC): their results are declared as one-field structs, which Deno calls
 * through libffi. A `struct { int64_t }` or `struct { int32_t }` result travels exactly
 * as the `int64_t`/`int32_t` the shim returns (x86-64 System V: in rax; AAPCS64: in
 * x0), so the shim's functions are called as they are; read them with
 * {@link structResult}. The ABI version is read as data; waiting and releasing run on
 * the blocking pool (`nonblocking`; release reuses the thread the wait has just left).
 * The others wait in {@link SHIM_RARE_SYMBOLS}.
 */
export const SHIM_SYMBOLS = {
  charter_abi: { type: "u32" },
  charter_launch: {
    parameters: ["buffer", "usize", "buffer", "usize", "buffer", "usize"],
    result: { struct: ["i64"] },
  },
  charter_wait: { parameters: ["u64"], result: "i32", nonblocking: true },
  charter_release: { parameters: ["u64"], result: "i32", nonblocking: true },
  // Bound up front although few launches forward a signal: forwarding must not depend on
  // a dlopen succeeding inside the signal listener.
  charter_signal: { parameters: ["u64", "i32"], result: { struct: ["i32"] } },
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

/**
 * The integer a function bound with a one-field struct result returned (see
 * {@link SHIM_SYMBOLS}): the struct's bytes, in the machine's byte order.
 *
 * @example
 * ```ts
 * import { structResult } from "./symbols.ts";
 * console.log(structResult(new Uint8Array(new BigInt64Array([-125n]).buffer))); // -125n
 * console.log(structResult(new Uint8Array(new Int32Array([-3]).buffer))); // -3n
 * ```
 */
export function structResult(bytes: Uint8Array): bigint {
  const copy = bytes.slice();
  return copy.length === 8
    ? new BigInt64Array(copy.buffer)[0]
    : BigInt(new Int32Array(copy.buffer)[0]);
}
