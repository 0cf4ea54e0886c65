/**
 * Resolving the target executable at compile time: it must exist and be a regular
 * executable file. Its digest goes into the plan, and so do the digests of the
 * interpreters the kernel will open to run it (ld.so, a `#!` interpreter).
 *
 * @module
 */
import { type HashedFile, sha256File } from "../crypto/digest.ts";
import { PolicyError } from "../policy/diagnostic.ts";
import type { PolicySource } from "../policy/yaml_source.ts";
import { InterpreterError, interpreterOf } from "./interpreter.ts";
import type { ImpliedExec } from "./lower.ts";

/** The executable as the plan records it, with the interpreters it needs. */
export interface ResolvedTarget {
  /** Absolute path. */
  exe: string;
  /** Lowercase hex sha256 of its contents. */
  sha256: string;
  /** The target and every interpreter in its chain, each needing EXECUTE. */
  execChain: ImpliedExec[];
  /** The target is a `#!` script (the shim keeps its fd open for the interpreter). */
  script: boolean;
}

const MAX_INTERPRETER_DEPTH = 4;

/** How much of a file is read for its `#!` line or ELF headers. */
const HEAD_BYTES = 1024 * 1024;

/**
 * Reads and hashes the target executable and its interpreter chain; problems are
 * located at `target.exe`.
 *
 * @example
 * ```ts ignore
 * import { resolveTarget } from "./target.ts";
 * const target = await resolveTarget("/bin/true", source);
 * console.log(target.execChain.map((e) => e.path)); // ["/bin/true", "/lib64/ld-linux-x86-64.so.2"]
 * ```
 */
export async function resolveTarget(exe: string, source: PolicySource): Promise<ResolvedTarget> {
  const fail = (message: string, hint: string): never => {
    throw new PolicyError([{
      file: source.file,
      ...source.locate(["target", "exe"]),
      path: "target.exe",
      message,
      hint,
    }]);
  };
  const read = async (path: string, role: string): Promise<HashedFile> => {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        return fail(
          `${role}${path} does not exist`,
          "install the program or fix the path (try: command -v NAME)",
        );
      }
      if (e instanceof Deno.errors.PermissionDenied) {
        return fail(
          `${role}${path} cannot be read by this user`,
          "compile as a user that can read the program",
        );
      }
      throw e;
    }
    if (!info.isFile) {
      return fail(`${role}${path} is not a regular file`, "name the executable itself");
    }
    if (((info.mode ?? 0) & 0o111) === 0) {
      return fail(
        `${role}${path} is not executable (mode ${(info.mode ?? 0).toString(8)})`,
        "chmod +x it",
      );
    }
    // Hashed in chunks (a 1 GiB target stays out of memory); the head holds the `#!` line
    // or the ELF program headers and PT_INTERP, which sit at the start of any real binary.
    return await sha256File(path, HEAD_BYTES);
  };
  const { sha256, head: bytes } = await read(exe, "");
  const execChain: ImpliedExec[] = [{ path: exe, implied: "target", sha256 }];
  const interpreterIn = (head: Uint8Array, path: string) => {
    try {
      return interpreterOf(head);
    } catch (e) {
      if (!(e instanceof InterpreterError)) throw e;
      return fail(
        `${path} cannot be pinned: ${e.message}`,
        "run a program whose interpreter the kernel and the compiler read alike",
      );
    }
  };
  let next = interpreterIn(bytes, exe);
  while (next !== undefined) {
    if (execChain.length > MAX_INTERPRETER_DEPTH) {
      fail(
        `${exe} has an interpreter chain deeper than ${MAX_INTERPRETER_DEPTH}`,
        "run the interpreter directly",
      );
    }
    if (!next.startsWith("/")) {
      fail(`${exe} names a relative interpreter ${next}`, "use an absolute #! path");
    }
    const interp = await read(next, `the interpreter of ${execChain.at(-1)!.path}, `);
    execChain.push({ path: next, implied: "interpreter", sha256: interp.sha256 });
    next = interpreterIn(interp.head, next);
  }
  return { exe, sha256, execChain, script: bytes[0] === 0x23 && bytes[1] === 0x21 };
}
