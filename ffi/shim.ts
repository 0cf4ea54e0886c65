/**
 * Typed wrappers around the shim: load it, launch a verified plan, wait, signal, release.
 *
 * @module
 */
import { SHIM_ABI_VERSION, SHIM_RARE_SYMBOLS, SHIM_SYMBOLS, structResult } from "./symbols.ts";

/** Where `scripts/bootstrap.sh` builds the shim. */
export const DEFAULT_SHIM_PATH: URL = new URL(
  "../rust-shim/target/release/libcharter_shim.so",
  import.meta.url,
);

/** Raised when the shim library is missing, stale or from another ABI. */
export class ShimUnavailableError extends Error {
  /** Creates the error with a sentence on how to build the shim. */
  constructor(message: string) {
    super(message);
    this.name = "ShimUnavailableError";
  }
}

/** What the launcher passes besides the signed plan (not signed itself). */
export interface LaunchRequest {
  /** Raw 32-byte Ed25519 public keys, lowercase hex. */
  trustedKeys: string[];
  /** Where the shim writes the transcript; `null` keeps it nowhere. */
  transcript:
    | { path: string }
    | { fd: number }
    | { socket: string; protocol: "syslog" | "journald"; maxBytes?: number }
    | null;
  /** Arguments appended to the plan's argv (only if the plan allows it). */
  extraArgs: string[];
  /** An Ed25519 PKCS#8 key (standard base64) with which the shim seals the transcript. */
  sealKeyPkcs8?: string;
  /**
   * For a plan with `linux.confine.learn.v1`: the file (created 0600, truncated) to which
   * the shim's supervisor writes one JSON line per recorded call.
   */
  learn?: { records: string };
}

/** The shim's answer to a launch. */
export type LaunchOutcome =
  | { outcome: "running"; pid: number; launchId: string }
  | { outcome: "refused"; reason: string; detail: string }
  | { outcome: "faulted"; step: string; errno: number; detail: string };

/** One distinct seccomp denial the shim recorded (DESIGN §7 `denied`). */
export interface SeccompDenial {
  /** The arch name (`x86_64`, `aarch64`, or the AUDIT_ARCH value in hex). */
  arch: string;
  /** The syscall number. */
  nr: number;
  /** The errno the call failed with. */
  errno: number;
  /** How many times. */
  count: number;
  /** The arguments of the first occurrence, as decimal strings (64-bit values). */
  args: string[];
}

/** The denials recorded for a launch, as `charter_denials` reports them. */
export interface DenialReport {
  /** False when the child installed the filter without recording (see the transcript). */
  recorded: boolean;
  /** The distinct denials, in order of first occurrence. */
  denials: SeccompDenial[];
  /** Denials beyond the itemised distinct ones. */
  omitted: number;
  /**
   * The Landlock denials read from the kernel audit stream, as the transcript's `denied`
   * records say them; null when they are not observed (audit off or unreadable).
   */
  landlock: LandlockDenial[] | null;
}

/** A Landlock denial as the shim tallied it (a `denied` record's fields). */
export interface LandlockDenial {
  /** `landlock`. */
  mechanism: string;
  /** The denied rights and the object, e.g. `fs.write_file /work/x`; or what a count is of. */
  what: string;
  /** The policy key that would allow it; empty for a record that only counts. */
  key: string;
  /** How many times. */
  count: number;
}

/** A launch that did not start: the exit code for `launch` and the shim's explanation. */
export interface LaunchFailure {
  /** 125 refused, 126 setup fault, 127 target missing. */
  exitCode: 125 | 126 | 127;
  /** The shim's outcome record. */
  outcome: Exclude<LaunchOutcome, { outcome: "running" }>;
}

type Library = Deno.DynamicLibrary<typeof SHIM_SYMBOLS>;
type RareSymbols = Deno.DynamicLibrary<typeof SHIM_RARE_SYMBOLS>["symbols"];

/**
 * Calls a shim function that writes JSON to a caller buffer and returns the size it needs
 * (DESIGN §6), with a bigger buffer until the JSON fits, and parses it.
 */
function readSized(call: (buffer: Uint8Array, cap: bigint) => number | bigint): unknown {
  let buffer = new Uint8Array(4096);
  for (;;) {
    const needed = Number(call(buffer, BigInt(buffer.length)));
    if (needed <= buffer.length) {
      return JSON.parse(new TextDecoder().decode(buffer.subarray(0, needed)));
    }
    buffer = new Uint8Array(needed);
  }
}

/** A running child; dispose it (`await using`, or call `release`) when done. */
export class ChildHandle {
  #lib: Library;
  #handle: bigint;
  #released = false;

  #rare: () => RareSymbols;

  /** Wraps a handle the shim returned; not for direct use. */
  constructor(
    lib: Library,
    rare: () => RareSymbols,
    handle: bigint,
    readonly pid: number,
    readonly launchId: string,
  ) {
    this.#lib = lib;
    this.#rare = rare;
    this.#handle = handle;
  }

  /** Waits for the child to exit; resolves to its status in shell form (code or 128+signal). */
  async wait(): Promise<number> {
    const status = await this.#lib.symbols.charter_wait(this.#handle);
    if (status < 0) throw new Error(`Waiting for the child failed (errno ${-status})`);
    return status;
  }

  /**
   * The denials recorded for this launch (complete once {@link wait} resolved): seccomp's,
   * and Landlock's where the audit stream is read; null when the launch records neither
   * (no seccomp filter or a kernel without user notification, and no readable audit
   * stream) or after {@link release}.
   */
  denials(): DenialReport | null {
    if (this.#released) return null;
    const rare = this.#rare();
    return readSized((buffer, cap) => rare.charter_denials(this.#handle, buffer, cap)) as
      | DenialReport
      | null;
  }

  /** Sends a signal to the child through its pidfd; false when it is already gone. */
  signal(signal: number): boolean {
    return structResult(this.#lib.symbols.charter_signal(this.#handle, signal)) === 0n;
  }

  /**
   * Closes the pidfd and the transcript destination (fsyncing a file). Resolves to 0, or
   * the errno with which the transcript could not be completely written.
   */
  async release(): Promise<number> {
    if (this.#released) return 0;
    this.#released = true;
    return -(await this.#lib.symbols.charter_release(this.#handle));
  }

  /** Same as {@link release}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/** The loaded shim library. */
export class Shim {
  #lib: Library;
  #path: string | URL;
  #rare?: Deno.DynamicLibrary<typeof SHIM_RARE_SYMBOLS>;

  private constructor(lib: Library, path: string | URL) {
    this.#lib = lib;
    this.#path = path;
  }

  /** The rarely called symbols, bound on first use (the library is loaded already). */
  #rareSymbols = (): RareSymbols =>
    (this.#rare ??= Deno.dlopen(this.#path, SHIM_RARE_SYMBOLS)).symbols;

  /**
   * Loads the shim, checking its ABI version.
   *
   * @example
   * ```ts ignore
   * import { Shim } from "./shim.ts";
   * using shim = Shim.open();
   * console.log(shim.probe());
   * ```
   */
  static open(path: string | URL = Deno.env.get("CHARTER_SHIM") ?? DEFAULT_SHIM_PATH): Shim {
    let lib: Library;
    try {
      lib = Deno.dlopen(path, SHIM_SYMBOLS);
    } catch (e) {
      throw new ShimUnavailableError(
        `The charter shim could not be loaded from ${path} (${
          (e as Error).message.split("\n")[0]
        }); ` +
          "build it with scripts/bootstrap.sh",
      );
    }
    const abi = lib.symbols.charter_abi;
    if (abi !== SHIM_ABI_VERSION) {
      lib.close();
      throw new ShimUnavailableError(
        `The charter shim at ${path} speaks ABI ${abi}, this launcher needs ${SHIM_ABI_VERSION}; ` +
          "rebuild it with scripts/bootstrap.sh",
      );
    }
    return new Shim(lib, path);
  }

  /** What this kernel and host offer, as the shim sees it. */
  probe(): Record<string, unknown> {
    return readSized((buffer, cap) => this.#rareSymbols().charter_probe(buffer, cap)) as Record<
      string,
      unknown
    >;
  }

  /**
   * Verifies the plan and starts the child. Must run on the main thread (a synchronous
   * call): PR_SET_PDEATHSIG follows the thread that cloned the child.
   */
  launch(envelope: Uint8Array, request: LaunchRequest): ChildHandle | LaunchFailure {
    const req = new TextEncoder().encode(JSON.stringify(request));
    const out = new Uint8Array(64 * 1024);
    const result = structResult(this.#lib.symbols.charter_launch(
      envelope,
      BigInt(envelope.length),
      req,
      BigInt(req.length),
      out,
      BigInt(out.length),
    ));
    // Nothing written means the outcome did not fit (a long message): the shim kept it.
    const end = out.indexOf(0);
    const outcome =
      (end > 0
        ? JSON.parse(new TextDecoder().decode(out.subarray(0, end)))
        : readSized((buffer, cap) =>
          this.#rareSymbols().charter_outcome(buffer, cap)
        )) as LaunchOutcome;
    if (result > 0n && outcome.outcome === "running") {
      return new ChildHandle(this.#lib, this.#rareSymbols, result, outcome.pid, outcome.launchId);
    }
    if (outcome.outcome === "running") {
      throw new Error(`The shim returned ${result} for a running child`);
    }
    const code = Number(-result);
    if (code !== 125 && code !== 126 && code !== 127) {
      throw new Error(`The shim returned ${result}`);
    }
    return { exitCode: code, outcome };
  }

  /** Unloads the library. */
  close(): void {
    this.#rare?.close();
    this.#lib.close();
  }

  /** Same as {@link close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}
