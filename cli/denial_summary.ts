/**
 * What `launch` tells the user of a failed target whose denials the shim recorded: one line
 * per distinct denial, naming the syscall and the policy key that would allow it, decided
 * as `charter learn` decides it (learn/evaluate.ts), and each Landlock denial the kernel's
 * audit stream showed with the key the shim named.
 *
 * @module
 */
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { ERRNO_NAMES, type SeccompArch, syscallName } from "../compiler/seccomp/mod.ts";
import type { DenialReport, LandlockDenial } from "../ffi/shim.ts";
import { createEvaluator } from "../learn/evaluate.ts";

/** The most denials listed one per line; the rest are counted on one more line. */
export const SUMMARY_LINES = 10;

const ARCHES: readonly string[] = ["x86_64", "aarch64"] satisfies SeccompArch[];

/**
 * The summary lines (without the `charter: ` prefix) of a launch's recorded denials; empty
 * when none of them is one a policy key would allow (a call unknown to the syscall table
 * fails with ENOSYS as on a kernel without it).
 *
 * @example
 * ```ts ignore
 * import { denialSummary } from "./denial_summary.ts";
 * for (const line of denialSummary(child.denials()!, plan)) console.error(`charter: ${line}`);
 * // denied io_uring_setup (seccomp, EPERM) → allow with syscalls.unsafe_allow: io_uring_setup
 * ```
 */
export function denialSummary(report: DenialReport, plan: LinuxLaunchPlan): string[] {
  const evaluator = createEvaluator(plan);
  const lines: string[] = [];
  let more = 0;
  for (const denial of report.denials) {
    const arch = ARCHES.includes(denial.arch) ? denial.arch as SeccompArch : undefined;
    const name = arch && syscallName(arch, denial.nr);
    if (!arch || !name) continue;
    const [found] = evaluator.evaluate({
      kind: "syscall",
      name,
      arch,
      nr: denial.nr,
      args: denial.args.map(BigInt),
    });
    if (!found) continue;
    if (lines.length === SUMMARY_LINES) {
      more++;
      continue;
    }
    const errno = ERRNO_NAMES.get(denial.errno) ?? `errno ${denial.errno}`;
    const times = denial.count === 1 ? "" : `, ${denial.count} times`;
    const value = found.grant.value === undefined ? "" : `: ${found.grant.value}`;
    lines.push(
      `denied ${name} (seccomp, ${errno}${times}) → allow with ${found.grant.key}${value}`,
    );
  }
  // Records without a key only count: the rest past the itemised ones, or records that may
  // be missing (said on their own line: no line above is then the whole story).
  let omitted = report.omitted;
  const missing: string[] = [];
  for (const denial of report.landlock ?? []) {
    if (denial.key === "") {
      if (denial.what.startsWith("denials not itemized")) omitted += denial.count;
      else missing.push(`${denial.what}: ${denial.count}`);
    } else if (lines.length === SUMMARY_LINES) {
      more++;
    } else {
      lines.push(landlockLine(denial));
    }
  }
  if (lines.length > 0 && (more > 0 || omitted > 0)) {
    const parts = [
      ...(more > 0 ? [`${more} more denials`] : []),
      ...(omitted > 0 ? [`${omitted} denials beyond those itemised`] : []),
    ];
    lines.push(`and ${parts.join(" and ")}; see the transcript's denied records`);
  }
  return [...lines, ...missing];
}

/**
 * One Landlock denial's line: the key with the value to add where the record names one (the
 * path, for a `make_*`/`remove_*` right the directory; the port).
 */
function landlockLine(denial: LandlockDenial): string {
  const times = denial.count === 1 ? "" : `, ${denial.count} times`;
  const object = denial.what.slice(denial.what.indexOf(" ") + 1);
  const port = object.match(/^port (\d+)$/)?.[1];
  const value = denial.key.startsWith("filesystem.") ? `: ${object}` : port ? `: ${port}` : "";
  const allow = denial.key.startsWith("none")
    ? `not allowed by any key (${denial.key.slice("none (".length, -1)})`
    : `allow with ${denial.key}${value}`;
  return `denied ${denial.what} (landlock${times}) → ${allow}`;
}
