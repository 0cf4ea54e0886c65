/**
 * Builds seccomp filters with libseccomp (Debian's `python3-seccomp`, run by
 * `/usr/bin/python3`) for side-by-side tests and benchmarks of charter's compiler.
 *
 * A charter policy is translated per syscall into libseccomp rules. libseccomp has no
 * "first matching rule, else the syscall's own action" order, so only policies whose rules
 * fall through to the default action and do not overlap with different actions translate
 * exactly; conditions on 32-bit arguments translate only as `eq` (a `masked_eq` with mask
 * 0xffffffff) and `masked_eq`. Anything else is refused with an error.
 *
 * @module
 */
import { decodeProgram, type SockFilter } from "../compiler/seccomp/bpf.ts";
import type { CompiledSeccomp } from "../compiler/seccomp/compile_seccomp.ts";
import type { SeccompArch } from "../compiler/seccomp/arch.ts";
import { SECCOMP_RET_KILL_PROCESS } from "../compiler/seccomp/actions.ts";

/** The Python with the `seccomp` module (Debian's, not a pyenv one). */
export const PYTHON = "/usr/bin/python3";

/** One libseccomp argument comparison. */
export interface LibseccompArg {
  /** Argument index. */
  arg: number;
  /** libseccomp operator name. */
  op: "EQ" | "NE" | "LT" | "LE" | "GT" | "GE" | "MASKED_EQ";
  /** datum_a (the mask for MASKED_EQ). */
  a: string;
  /** datum_b (the value for MASKED_EQ). */
  b: string;
}

/** One libseccomp rule. */
export interface LibseccompRule {
  /** The action (a seccomp return value). */
  ret: number;
  /** The syscall: a number (x86_64, native) or a name (other arches). */
  syscall: number | string;
  /** Comparisons, ANDed. */
  args: LibseccompArg[];
}

/** A filter for libseccomp to build. */
export interface LibseccompSpec {
  /** The architecture. */
  arch: SeccompArch;
  /** `SCMP_FLTATR_CTL_OPTIMIZE`: 1 (priority order) or 2 (binary tree). */
  optimize: 1 | 2;
  /** The default action. */
  defaultRet: number;
  /** The action for other architectures. */
  badArchRet: number;
  /** The rules. */
  rules: LibseccompRule[];
}

/** The filter libseccomp built, and the rules it could not take. */
export interface LibseccompFilter {
  /** The instructions. */
  program: SockFilter[];
  /** Syscalls (as given) libseccomp did not know, whose rules were left out. */
  skipped: (number | string)[];
}

/** Raised when a charter policy has no exact libseccomp translation. */
export class NotTranslatableError extends Error {
  /** Creates the error with the reason. */
  constructor(message: string) {
    super(message);
    this.name = "NotTranslatableError";
  }
}

const SCRIPT = `
import base64, json, sys, tempfile
import seccomp

ARCH = {"x86_64": seccomp.Arch.X86_64, "aarch64": seccomp.Arch.AARCH64}
OPS = {"EQ": seccomp.EQ, "NE": seccomp.NE, "LT": seccomp.LT, "LE": seccomp.LE,
       "GT": seccomp.GT, "GE": seccomp.GE, "MASKED_EQ": seccomp.MASKED_EQ}
def action(ret):
    # The bindings take actions as C ints.
    return ret - (1 << 32) if ret >= (1 << 31) else ret

out = []
for spec in json.load(sys.stdin):
    f = seccomp.SyscallFilter(action(spec["defaultRet"]))
    arch = ARCH[spec["arch"]]
    if (int(arch) & 0xffffffff) != (int(seccomp.system_arch()) & 0xffffffff):
        f.add_arch(arch)
        f.remove_arch(seccomp.Arch.NATIVE)
    f.set_attr(seccomp.Attr.ACT_BADARCH, action(spec["badArchRet"]))
    f.set_attr(seccomp.Attr.CTL_OPTIMIZE, spec["optimize"])
    skipped = []
    for rule in spec["rules"]:
        args = [seccomp.Arg(a["arg"], OPS[a["op"]], int(a["a"]), int(a["b"])) for a in rule["args"]]
        syscall = rule["syscall"]
        if isinstance(syscall, str):
            try:
                if seccomp.resolve_syscall(arch, syscall) < 0:
                    skipped.append(syscall)
                    continue
            except Exception:
                skipped.append(syscall)
                continue
        try:
            f.add_rule(action(rule["ret"]), syscall, *args)
        except Exception as e:
            raise SystemExit("libseccomp refused %r: %s" % (rule, e))
    with tempfile.TemporaryFile() as fh:
        f.export_bpf(fh)
        fh.seek(0)
        data = fh.read()
    out.append({"bpf": base64.b64encode(data).decode(), "skipped": sorted(set(skipped), key=str)})
json.dump(out, sys.stdout)
`;

/**
 * Builds filters with libseccomp, all in one Python process.
 *
 * @example
 * ```ts ignore
 * import { buildWithLibseccomp } from "./seccomp_libseccomp.ts";
 * const [f] = await buildWithLibseccomp([
 *   { arch: "x86_64", optimize: 2, defaultRet: 0x7fff0000, badArchRet: 0x80000000, rules: [] },
 * ]);
 * console.log(f.program.length > 0); // true
 * ```
 */
export async function buildWithLibseccomp(specs: LibseccompSpec[]): Promise<LibseccompFilter[]> {
  const child = new Deno.Command(PYTHON, {
    args: ["-c", SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(specs)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) {
    throw new Error(
      `libseccomp (${PYTHON} with python3-seccomp) failed: ${new TextDecoder().decode(stderr)}`,
    );
  }
  const results: { bpf: string; skipped: (number | string)[] }[] = JSON.parse(
    new TextDecoder().decode(stdout),
  );
  return results.map((r) => ({
    program: decodeProgram(Uint8Array.from(atob(r.bpf), (c) => c.charCodeAt(0))),
    skipped: r.skipped,
  }));
}

/**
 * Translates a compiled charter filter's decisions into a libseccomp spec. Syscalls are
 * given by number on x86_64 (libseccomp's native numbering here) and by name elsewhere
 * (libseccomp translates numbers from the native arch). clone3's ENOSYS becomes an
 * explicit rule. Throws {@link NotTranslatableError} for policies libseccomp cannot
 * express exactly (see the module documentation).
 *
 * @example
 * ```ts ignore
 * import { compileSeccomp } from "../compiler/seccomp/compile_seccomp.ts";
 * import { toLibseccompSpec } from "./seccomp_libseccomp.ts";
 * const spec = toLibseccompSpec(compileSeccomp({ default: "allow", deny: ["ptrace"] }, "x86_64"), 2);
 * console.log(spec.rules.length); // 2 (ptrace, clone3)
 * ```
 */
export function toLibseccompSpec(compiled: CompiledSeccomp, optimize: 1 | 2): LibseccompSpec {
  const rules: LibseccompRule[] = [];
  for (const decision of compiled.syscalls) {
    const syscall = compiled.arch === "x86_64" ? decision.nr : decision.name;
    if (decision.rules.length === 0) {
      if (decision.ret !== compiled.defaultRet) {
        rules.push({ ret: decision.ret, syscall, args: [] });
      }
      continue;
    }
    if (decision.ret !== compiled.defaultRet) {
      throw new NotTranslatableError(
        `${decision.name} has rules but falls through to a non-default action`,
      );
    }
    for (const rule of decision.rules) {
      if (rule.ret === compiled.defaultRet) continue;
      rules.push({
        ret: rule.ret,
        syscall,
        args: rule.conditions.map((c): LibseccompArg => {
          if (c.op === "masked_eq") {
            return { arg: c.arg, op: "MASKED_EQ", a: String(c.mask), b: String(c.value) };
          }
          if (c.width === 32) {
            if (c.op !== "eq") {
              throw new NotTranslatableError(
                `${decision.name}: ${c.op} on a 32-bit argument has no libseccomp equivalent`,
              );
            }
            return { arg: c.arg, op: "MASKED_EQ", a: "4294967295", b: String(c.value) };
          }
          return {
            arg: c.arg,
            op: c.op.toUpperCase() as LibseccompArg["op"],
            a: String(c.value),
            b: "0",
          };
        }),
      });
    }
  }
  return {
    arch: compiled.arch,
    optimize,
    defaultRet: compiled.defaultRet,
    badArchRet: SECCOMP_RET_KILL_PROCESS,
    rules,
  };
}
