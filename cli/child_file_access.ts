/**
 * Could the child of a plan read or write a given file of the host? A child that can read
 * the seal key can forge the seal, and one that can write the transcript file can forge or
 * destroy the evidence (fill the disk, punch a hole in the room reserved for the records
 * after the exec), so `launch` refuses both (docs/decisions.md). Derived from the plan the
 * shim enforces: the child's host uid and capabilities, its filesystem view and its Landlock
 * rules.
 *
 * @module
 */
import { hostIds } from "../audit/phase_details.ts";
import type { LandlockFsRight, LinuxLaunchPlan } from "../compiler/plan.ts";

/** What the decision needs to know about the file and the host. */
export interface FileFacts {
  /** What the file is, for messages ("key", "transcript file"). */
  role: string;
  /** The file's path (it may not exist yet). */
  path: string;
  /** Its owner. */
  owner: number;
  /** Its permission bits. */
  mode: number;
  /**
   * Owner and permission bits of its directory, when known: a child that may write the
   * directory can unlink or rename the file and put its own at the path.
   */
  dir?: { owner: number; mode: number };
  /** The launcher's effective uid. */
  launcherUid: number;
  /** The kernel's Landlock ABI (0: none); asked only for a best_effort ruleset. */
  landlockAbi: () => number;
}

/** What the decision needs to know about the seal key and the host. */
export type KeyFacts = Omit<FileFacts, "mode" | "role">;

/** Reading or writing the file. */
export type FileAccess = "read" | "write";

/** Capabilities that get past a file's mode (or into the launcher's memory, which holds the key). */
const BYPASSES: Record<FileAccess, string[]> = {
  read: [
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_SYS_PTRACE",
    "CAP_SYS_ADMIN",
  ],
  write: ["CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_CHOWN", "CAP_SYS_PTRACE", "CAP_SYS_ADMIN"],
};

/** Group (unknown membership) and other permission bits that allow the access. */
const SHARED_BITS: Record<FileAccess, number> = { read: 0o044, write: 0o022 };

/** Landlock rights that change a file or its name, beneath a rule's path. */
const WRITING: LandlockFsRight[] = [
  "write_file",
  "truncate",
  "remove_file",
  "make_char",
  "make_dir",
  "make_reg",
  "make_sock",
  "make_fifo",
  "make_block",
  "make_sym",
  "refer",
];

/** Rights on a directory above the key that still give no way to its bytes. */
const HARMLESS_ABOVE_READ = new Set<LandlockFsRight>(["read_dir", "execute"]);

function realPath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

/** The real path of `path`, or of its directory when the file does not exist yet. */
function realFilePath(path: string): string {
  const real = realPath(path);
  if (real !== undefined) return real;
  const slash = path.lastIndexOf("/");
  const dir = slash <= 0 ? "/" : path.slice(0, slash);
  const realDir = realPath(dir);
  return realDir === undefined ? path : `${realDir.replace(/\/$/, "")}/${path.slice(slash + 1)}`;
}

function covers(rule: string, file: string): boolean {
  return rule === "/" || file === rule || file.startsWith(`${rule}/`);
}

/**
 * True when a required listed view keeps the file out of the child's tree: no bind shows
 * its real path (for writing, no writable one), no host /proc is bound (the launcher's
 * fds are there), and the child keeps no capability that could rearrange its mounts or
 * reach the launcher's memory.
 */
function outsideView(
  plan: LinuxLaunchPlan,
  path: string,
  access: FileAccess,
  kept: string[],
): boolean {
  const view = plan.view;
  if (view?.mode !== "listed" || view.enforce !== "required") return false;
  if (kept.some((c) => c === "CAP_SYS_ADMIN" || c === "CAP_SYS_PTRACE")) return false;
  const filePath = realFilePath(path);
  return view.mounts.every((m) => {
    if (m.kind !== "bind") return true;
    const source = realPath(m.sourceResolved ?? m.source) ?? m.sourceResolved ?? m.source;
    if (source === "/" || covers("/proc", source)) return false;
    return !covers(source, filePath) || (access === "write" && m.flags.includes("ro"));
  });
}

/**
 * Whether a child of host uid `childUid` may unlink or rename `file` through its directory's
 * owner or mode (a sticky directory lets only the file's or the directory's owner do so).
 */
function replaceable(file: FileFacts, childUid: number): boolean {
  const dir = file.dir;
  if (dir === undefined) return false;
  const writable = childUid === dir.owner || (dir.mode & 0o022) !== 0;
  const sticky = (dir.mode & 0o1000) !== 0;
  return writable && (!sticky || childUid === file.owner || childUid === dir.owner);
}

/**
 * Why the child of `plan` could `access` the file (reading also: the launcher's memory),
 * or undefined when it cannot. The child's host uid is the launcher's (with or without a
 * user namespace) unless `linux.scrub.ids.v1` switches it, and never 0 without
 * `linux.identity.host_root.v1` (the shim runs it as 65534 then). A child that is not the
 * file's owner (who may chmod it), not uid 0, not let in by the group or other bits and
 * keeps none of {@link BYPASSES} cannot; otherwise a required listed view that does not
 * show the file keeps it out, or a Landlock ruleset:
 * one that handles the rights in question and grants none of them on the file's real path
 * or a directory above it (for reading, nothing but `read_dir`/`execute`; for writing, none
 * of {@link WRITING}).
 *
 * @example
 * ```ts ignore
 * import { childFileAccess } from "./child_file_access.ts";
 * const facts = { role: "transcript file", path, owner: 0, mode: 0o644, launcherUid: 0, landlockAbi: () => 7 };
 * const why = childFileAccess(plan, facts, "write");
 * if (why) throw new Error(why);
 * ```
 */
export function childFileAccess(
  plan: LinuxLaunchPlan,
  file: FileFacts,
  access: FileAccess,
): string | undefined {
  const ids = plan.schedule.find((p) => p.id === "linux.scrub.ids.v1");
  // The shim never lends host uid 0 without host_root (the gid does not matter here).
  const launcherUid = hostIds(plan, { uid: file.launcherUid, gid: 0 }).uid;
  const childUid = ids?.id === "linux.scrub.ids.v1" ? ids.uid : launcherUid;
  const caps = plan.schedule.find((p) => p.id === "linux.scrub.capabilities.v1");
  const kept = caps?.id === "linux.scrub.capabilities.v1"
    ? caps.keep.filter((c) => BYPASSES[access].includes(c))
    : BYPASSES[access];
  const shared = file.mode & SHARED_BITS[access];
  const replaced = access === "write" && replaceable(file, childUid);
  if (
    childUid !== file.owner && childUid !== 0 && shared === 0 && kept.length === 0 && !replaced
  ) {
    return undefined;
  }
  const who = childUid === file.owner
    ? `the child runs as uid ${childUid}, the ${file.role}'s owner`
    : childUid === 0
    ? "the child runs as uid 0"
    : shared !== 0
    ? `its mode ${file.mode.toString(8)} lets group or others ${access} it`
    : kept.length > 0
    ? `the child keeps ${kept.join(", ")}`
    : `the child's uid ${childUid} may write its directory, so it can put another file at its path`;
  if (outsideView(plan, file.path, access, kept)) return undefined;
  const landlock = plan.landlock;
  const needed: LandlockFsRight[] = access === "read" ? ["read_file"] : WRITING;
  if (!landlock || !needed.every((r) => landlock.handledFs.includes(r))) {
    return `${who}, and the plan has no Landlock filesystem rules that would keep it out`;
  }
  if (landlock.enforce === "best_effort" && file.landlockAbi() < 1) {
    return `${who}, and this kernel has no Landlock to apply the plan's best_effort rules`;
  }
  const filePath = realFilePath(file.path);
  for (const rule of landlock.fs) {
    const rulePath = realPath(rule.path);
    if (rulePath === undefined || !covers(rulePath, filePath)) continue;
    const granted = rule.access.filter((a) =>
      access === "read" ? !HARMLESS_ABOVE_READ.has(a) : WRITING.includes(a)
    );
    if (granted.length > 0) {
      return `${who}, and the Landlock rule for ${rule.path} grants ${granted.join(", ")} on it`;
    }
  }
  return undefined;
}

/**
 * Why the child of `plan` could read the seal key file (a private, 0600 file, checked
 * before) or the launcher's memory, which holds the key during the launch; undefined when
 * it cannot. See {@link childFileAccess}.
 *
 * @example
 * ```ts ignore
 * import { sealKeyExposure } from "./child_file_access.ts";
 * const why = sealKeyExposure(plan, { path, owner: 0, launcherUid: 0, landlockAbi: () => 7 });
 * if (why) throw new Error(why);
 * ```
 */
export function sealKeyExposure(plan: LinuxLaunchPlan, key: KeyFacts): string | undefined {
  return childFileAccess(plan, { ...key, role: "key", mode: 0o600 }, "read");
}
