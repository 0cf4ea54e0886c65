/**
 * Lowering the filesystem view (`filesystem.view` and its keys) to the plan's `view`
 * section: the entries the shim mounts, in order, and the Landlock rules for what exists
 * only inside the view. The same lists that drive Landlock decide what a `listed` view
 * shows, so both mechanisms enforce one description.
 *
 * @module
 */
import { toBase64 } from "../crypto/digest.ts";
import type { Policy } from "../policy/types.ts";
import { enforcementOf, READ_RIGHTS, WRITE_RIGHTS } from "./lower.ts";
import {
  type LandlockFsRight,
  type LandlockPlan,
  MOUNT_FLAGS,
  type MountFlag,
  type PlanEnforcement,
  type ViewMount,
  type ViewPlan,
} from "./plan.ts";
import { exists, recordedResolution, symlinksOnTheWay } from "./resolve_path.ts";

/** Landlock rights on the devices of the view's /dev: sinks and sources, and the tty. */
const DEVICE_RIGHTS: [string, LandlockFsRight[]][] = [
  ["/dev/null", ["write_file", "read_file"]],
  ["/dev/zero", ["write_file", "read_file"]],
  ["/dev/full", ["write_file", "read_file"]],
  ["/dev/random", ["read_file"]],
  ["/dev/urandom", ["read_file"]],
  ["/dev/tty", ["write_file", "read_file"]],
];

/** The devices a `dev: minimal` /dev holds (binds of the host's). */
export const VIEW_DEVICES: readonly string[] = DEVICE_RIGHTS.map(([device]) => device);

/** Rights on the private devpts of `dev: terminal`: open, read, write and ioctl a pty. */
const DEVPTS_RIGHTS: LandlockFsRight[] = ["write_file", "read_file", "read_dir", "ioctl_dev"];

/** The root tmpfs holds mount points, directories and `files`: this plus their content. */
const ROOT_BASE_BYTES = 1024 * 1024;

/** tmpfs charges whole pages; 64 KiB covers the largest page size Linux runs with. */
const PAGE_BYTES = 64 * 1024;

/**
 * True when the shim will hand an input over by its path (so the view must show it): one
 * only root or its owner, the compiling user, can write. The shim copies any other into a
 * sealed memfd and passes `/proc/self/fd/N` instead (docs/plan-and-shim.md, _Pinning_).
 *
 * @example
 * ```ts
 * import { inputReadByPath } from "./lower_view.ts";
 * console.log(inputReadByPath("/etc/hostname")); // true
 * ```
 */
export function inputReadByPath(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return (info.uid === 0 || info.uid === Deno.uid()) && ((info.mode ?? 0) & 0o022) === 0;
  } catch {
    return false;
  }
}

/** A view entry with a target: every kind but the root. */
type PlacedMount = Exclude<ViewMount, { kind: "root" }>;

/** The paths the target itself needs in the view, besides the policy's lists. */
export interface ImpliedPaths {
  /** The interpreters of the exe (PT_INTERP, `#!`), which the kernel opens by path. */
  exec: string[];
  /** `target.inputs` the target reads by path ({@link inputReadByPath}). */
  read: string[];
}

/**
 * True when the plan gets a view: a `listed` one, or `host` with paths to hide, unless
 * `enforce.namespaces` is off (the view is a mount namespace).
 *
 * @example
 * ```ts
 * import { viewApplies } from "./lower_view.ts";
 * const policy = { version: 1 as const, name: "x", target: { exe: "/bin/true" } };
 * console.log(viewApplies({ ...policy, filesystem: { view: "listed" } })); // true
 * console.log(viewApplies({ ...policy, filesystem: { view: "host" } })); // false
 * ```
 */
export function viewApplies(policy: Policy): boolean {
  const fs = policy.filesystem;
  return enforcementOf(policy, "namespaces") !== "off" &&
    (fs?.view === "listed" || (fs?.view === "host" && (fs.hide ?? []).length > 0));
}

/**
 * True when the view has its own /dev (`dev: minimal` or `terminal`), not the host's.
 *
 * @example
 * ```ts
 * import { hasOwnDev } from "./lower_view.ts";
 * console.log(hasOwnDev({ dev: "minimal" }), hasOwnDev({ dev: "none" })); // true false
 * ```
 */
export function hasOwnDev(fs: NonNullable<Policy["filesystem"]>): boolean {
  return fs.dev === "minimal" || fs.dev === "terminal";
}

/**
 * True for a listed host path the view provides itself and so does not bind: /proc and what
 * lies under it when the view has its own proc; /dev and its devices when it has its own /dev.
 */
export function providedByView(fs: NonNullable<Policy["filesystem"]>, path: string): boolean {
  const devices = hasOwnDev(fs);
  return (fs.proc === true && isUnder(path, "/proc")) ||
    (devices && (path === "/dev" || VIEW_DEVICES.includes(path)));
}

/** True when `path` is `dir` or lies under it. */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || dir === "/" || path.startsWith(dir + "/");
}

/** Orders targets so that every directory comes before what lies under it. */
function byTarget(a: { target: string }, b: { target: string }): number {
  const x = a.target.split("/"), y = b.target.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

function flags(...set: (MountFlag | false)[]): MountFlag[] {
  return MOUNT_FLAGS.filter((f) => set.includes(f));
}

/** A host path a list names, where the view shows it, and the symlinks on the way. */
interface ListedPath {
  source: string;
  target: string;
  write: boolean;
}

/**
 * Builds the view of a policy (undefined when {@link viewApplies} is false). Paths the
 * lists name appear at their symlink-free resolution, with the symlinks on the way
 * recreated; a path that does not exist at compile time is left out, and so is an entry
 * that the one above it already shows the same way.
 *
 * @example
 * ```ts
 * import { lowerView } from "./lower_view.ts";
 * const view = lowerView(
 *   { version: 1, name: "x", target: { exe: "/bin/true" }, filesystem: { view: "listed" } },
 *   { exec: [], read: [] },
 * );
 * console.log(view?.mounts[0].kind); // "root"
 * ```
 */
export function lowerView(policy: Policy, implied: ImpliedPaths): ViewPlan | undefined {
  if (!viewApplies(policy)) return undefined;
  const fs = policy.filesystem!;
  const enforce = enforcementOf(policy, "namespaces") as PlanEnforcement;
  if (fs.view === "host") {
    const mounts = [...new Set(fs.hide)].map((path): PlacedMount => ({
      kind: "hide",
      target: recordedResolution(path) ?? path,
      flags: flags("ro", "nosuid", "nodev", "noexec"),
    })).sort(byTarget);
    return { mode: "host", enforce, mounts };
  }
  const execTargets = [...fs.exec ?? [], ...implied.exec].map((p) => recordedResolution(p) ?? p);
  const execUnder = (dir: string) => execTargets.some((t) => isUnder(t, dir));
  const symlinks = new Map<string, string>();
  const listed = new Map<string, ListedPath>();
  const list = (paths: readonly string[] | undefined, write: boolean) => {
    for (const source of paths ?? []) {
      // A path that does not exist now grants nothing (as in Landlock) and has no place in
      // the view: the shim refuses a bind source it cannot open.
      if (!exists(source)) continue;
      const walk = symlinksOnTheWay(source);
      for (const s of walk.symlinks) symlinks.set(s.target, s.link);
      const target = walk.resolved;
      const seen = listed.get(target);
      // One target named twice (`/lib` and `/usr/lib`): the name equal to it, the widest access.
      listed.set(target, {
        source: seen?.source === target || source === target ? target : seen?.source ?? source,
        target,
        write: write || (seen?.write ?? false),
      });
    }
  };
  list(fs.read, false);
  list(implied.read, false);
  list(fs.exec, false);
  list(implied.exec, false);
  list(fs.write, true);

  const entries: PlacedMount[] = [];
  for (const p of listed.values()) {
    // What /proc and /dev provide themselves is not bound from the host.
    if (providedByView(fs, p.target)) continue;
    const sourceResolved = p.target !== p.source ? { sourceResolved: p.target } : {};
    entries.push({
      kind: "bind",
      source: p.source,
      ...sourceResolved,
      target: p.target,
      flags: p.write
        ? flags("nosuid", "nodev", !execUnder(p.target) && "noexec")
        : flags("ro", "nosuid", "nodev"),
    });
  }
  for (const m of fs.mounts ?? []) {
    const resolved = recordedResolution(m.source);
    entries.push({
      kind: "bind",
      source: m.source,
      ...(resolved ? { sourceResolved: resolved } : {}),
      target: m.target,
      flags: m.write
        ? flags("nosuid", "nodev", !execUnder(resolved ?? m.source) && "noexec")
        : flags("ro", "nosuid", "nodev"),
    });
  }
  let fileBytes = 0;
  for (const [target, { content }] of Object.entries(fs.files ?? {})) {
    const bytes = new TextEncoder().encode(content);
    fileBytes += Math.ceil(bytes.length / PAGE_BYTES) * PAGE_BYTES;
    entries.push({
      kind: "file",
      target,
      contentB64: toBase64(bytes),
      flags: flags("ro", "nosuid", "nodev", !execUnder(target) && "noexec"),
    });
  }
  if (fs.tmp !== undefined && fs.tmp !== false) {
    entries.push({
      kind: "tmpfs",
      target: "/tmp",
      sizeBytes: fs.tmp,
      flags: flags("nosuid", "nodev", !execUnder("/tmp") && "noexec"),
    });
  }
  if (fs.proc) {
    entries.push({ kind: "proc", target: "/proc", flags: flags("nosuid", "nodev", "noexec") });
  }
  if (hasOwnDev(fs)) {
    entries.push({
      kind: "dev",
      target: "/dev",
      devpts: fs.dev === "terminal",
      flags: flags("ro", "nosuid", "noexec"),
    });
  }
  for (const [target, link] of symlinks) entries.push({ kind: "symlink", target, link });
  entries.sort(byTarget);
  const mounts = withoutShadowed(entries);
  // check refuses these; the shim must never build under a symlink (it would follow it).
  const underLink = mounts.find((m) =>
    mounts.some((l) => l.kind === "symlink" && l.target !== m.target && isUnder(m.target, l.target))
  );
  if (underLink) throw new Error(`View entry ${underLink.target} lies under a symlink`);
  return {
    mode: "listed",
    enforce,
    mounts: [
      {
        kind: "root",
        sizeBytes: ROOT_BASE_BYTES + fileBytes,
        flags: flags("ro", "nosuid", "nodev"),
      },
      ...mounts,
    ],
  };
}

/** Something the target needs that the policy's listed view lacks, at a policy key. */
export interface ViewGap {
  /** The policy key the problem is reported at. */
  path: ("target" | "exe" | "inputs")[];
  /** What is missing. */
  message: string;
  /** How to fix it. */
  hint: string;
}

/**
 * What a listed view must hold for the target to start: the kernel runs a `#!` script
 * executed from its fd as `/dev/fd/N` (the view's `dev` links it to `/proc/self/fd`), and a
 * copied input is handed over as `/proc/self/fd/N`.
 *
 * @example
 * ```ts
 * import { viewGaps } from "./lower_view.ts";
 * const policy = {
 *   version: 1 as const,
 *   name: "x",
 *   target: { exe: "/usr/local/bin/tool.sh" },
 *   filesystem: { view: "listed" as const, proc: false },
 * };
 * console.log(viewGaps(policy, true)[0].path); // ["target", "exe"]
 * ```
 */
export function viewGaps(policy: Policy, script: boolean): ViewGap[] {
  const fs = policy.filesystem;
  if (!viewApplies(policy) || fs?.view !== "listed") return [];
  const gaps: ViewGap[] = [];
  const devices = hasOwnDev(fs);
  if (script && !(fs.proc && devices)) {
    gaps.push({
      path: ["target", "exe"],
      message: "a #! script runs as /dev/fd/N, which the listed view lacks without proc and dev",
      hint: "set filesystem.proc: true (with namespaces.pid) and filesystem.dev: minimal",
    });
  }
  if ((policy.target.inputs ?? []).length > 0 && !fs.proc) {
    gaps.push({
      path: ["target", "inputs"],
      message:
        "a copied input is handed over as /proc/self/fd/N, which the view lacks without proc",
      hint: "set filesystem.proc: true (with namespaces.pid)",
    });
  }
  return gaps;
}

/** True for a bind that shows a host path at the same place. */
function isIdentityBind(m: PlacedMount): m is Extract<ViewMount, { kind: "bind" }> {
  return m.kind === "bind" && m.target === (m.sourceResolved ?? m.source);
}

/**
 * Leaves out what the nearest entry above already shows: a symlink under a bind of the
 * host's tree (the bind shows the same symlink) or under /proc or /dev, and a bind under a
 * bind of the host's tree with the same flags.
 */
function withoutShadowed(sorted: PlacedMount[]): PlacedMount[] {
  const kept: PlacedMount[] = [];
  for (const m of sorted) {
    const above = kept.findLast((k) => k.target !== m.target && isUnder(m.target, k.target));
    if (above && m.kind === "symlink") {
      if (isIdentityBind(above) || above.kind === "proc" || above.kind === "dev") continue;
    }
    if (above && isIdentityBind(above) && isIdentityBind(m) && sameFlags(above, m)) continue;
    kept.push(m);
  }
  return kept;
}

function sameFlags(a: { flags: MountFlag[] }, b: { flags: MountFlag[] }): boolean {
  return a.flags.join() === b.flags.join();
}

/**
 * The Landlock rules a view needs: host paths its `mounts` show (read, or write with
 * `write: true`), and what exists only inside the view (`inView`): the tmp (write), /proc
 * (read), /dev (list) and its devices (read; write the sinks and the tty), a private /dev/pts
 * (read, write, ioctl), `files` targets (read).
 *
 * @example
 * ```ts
 * import { lowerView, viewLandlockRules } from "./lower_view.ts";
 * const policy = {
 *   version: 1 as const,
 *   name: "x",
 *   target: { exe: "/bin/true" },
 *   filesystem: { view: "listed" as const, tmp: 1024 },
 * };
 * const rules = viewLandlockRules(policy, lowerView(policy, { exec: [], read: [] }));
 * console.log(rules[0].path, rules[0].inView); // "/tmp" true
 * ```
 */
export function viewLandlockRules(policy: Policy, view: ViewPlan | undefined): LandlockPlan["fs"] {
  if (view?.mode !== "listed") return [];
  const rules: LandlockPlan["fs"] = [];
  for (const m of policy.filesystem?.mounts ?? []) {
    rules.push({ path: m.source, access: m.write ? WRITE_RIGHTS : READ_RIGHTS });
  }
  for (const m of view.mounts) {
    if (m.kind === "root") continue;
    const inView = (access: LandlockFsRight[]) =>
      rules.push({ path: m.target, access, inView: true });
    if (m.kind === "tmpfs") inView(WRITE_RIGHTS);
    else if (m.kind === "proc") inView(READ_RIGHTS);
    else if (m.kind === "file") inView(["read_file"]);
    else if (m.kind === "dev") {
      // What `dev` promises is usable: listing /dev, the data devices, the controlling tty.
      rules.push({ path: "/dev", access: ["read_dir"], inView: true });
      for (const [device, access] of DEVICE_RIGHTS) {
        rules.push({ path: device, access, inView: true });
      }
      if (m.devpts) rules.push({ path: "/dev/pts", access: DEVPTS_RIGHTS, inView: true });
    }
  }
  return rules;
}
