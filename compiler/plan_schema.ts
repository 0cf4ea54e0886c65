/**
 * The LinuxLaunchPlan v1 body as a valibot schema: `verify` checks statements with it,
 * `schema/plan.schema.json` is generated from it, and a compile-time check keeps it
 * identical to the {@link LinuxLaunchPlan} type in `plan.ts`.
 *
 * @module
 */
import * as v from "npm:valibot@1.5.0";
import type { LinuxLaunchPlan, PlanStatement } from "./plan.ts";
import { LANDLOCK_FS_RIGHTS, MOUNT_FLAGS, PLAN_PREDICATE_TYPE, STATEMENT_TYPE } from "./plan.ts";

const Hex64 = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/));
const Path = v.pipe(v.string(), v.startsWith("/"));
const Int = v.pipe(v.number(), v.safeInteger());
const Enforce = v.picklist(["required", "best_effort"]);
const FsRight = v.picklist(LANDLOCK_FS_RIGHTS);
const NetRight = v.picklist(["bind_tcp", "connect_tcp"]);
const Rfc3339 = v.pipe(v.string(), v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/));

const Flags = v.array(v.picklist(MOUNT_FLAGS));
const Size = v.pipe(Int, v.minValue(1));

const ViewMount = v.variant("kind", [
  v.strictObject({ kind: v.literal("root"), sizeBytes: Size, flags: Flags }),
  v.strictObject({
    kind: v.literal("bind"),
    source: Path,
    sourceResolved: v.optional(Path),
    target: Path,
    flags: Flags,
  }),
  v.strictObject({ kind: v.literal("symlink"), target: Path, link: v.string() }),
  v.strictObject({ kind: v.literal("file"), target: Path, contentB64: v.string(), flags: Flags }),
  v.strictObject({ kind: v.literal("tmpfs"), target: Path, sizeBytes: Size, flags: Flags }),
  v.strictObject({ kind: v.literal("proc"), target: v.literal("/proc"), flags: Flags }),
  v.strictObject({
    kind: v.literal("dev"),
    target: v.literal("/dev"),
    devpts: v.boolean(),
    flags: Flags,
  }),
  v.strictObject({ kind: v.literal("hide"), target: Path, flags: Flags }),
]);

const Primitive = v.variant("id", [
  v.strictObject({ id: v.literal("linux.identity.host_root.v1"), phase: v.literal(1) }),
  v.strictObject({
    id: v.literal("linux.identity.userns.v1"),
    phase: v.literal(1),
    uid: v.optional(Int),
    gid: v.optional(Int),
    enforce: Enforce,
  }),
  v.strictObject({
    id: v.literal("linux.visibility.namespaces.v1"),
    phase: v.literal(2),
    net: v.boolean(),
    pid: v.boolean(),
    ipc: v.boolean(),
    uts: v.boolean(),
    cgroup: v.boolean(),
    enforce: Enforce,
  }),
  v.strictObject({
    id: v.literal("linux.visibility.hostname.v1"),
    phase: v.literal(2),
    hostname: v.string(),
  }),
  v.strictObject({ id: v.literal("linux.visibility.view.v1"), phase: v.literal(2) }),
  v.strictObject({ id: v.literal("linux.visibility.cwd.v1"), phase: v.literal(2) }),
  v.strictObject({ id: v.literal("linux.scrub.signals.v1"), phase: v.literal(3) }),
  v.strictObject({ id: v.literal("linux.scrub.env.v1"), phase: v.literal(3) }),
  v.strictObject({ id: v.literal("linux.scrub.fds.v1"), phase: v.literal(3), keep: v.array(Int) }),
  v.strictObject({
    id: v.literal("linux.scrub.rlimits.v1"),
    phase: v.literal(3),
    limits: v.array(v.strictObject({
      resource: v.picklist([
        "NOFILE",
        "NPROC",
        "AS",
        "DATA",
        "STACK",
        "FSIZE",
        "CORE",
        "MEMLOCK",
        "CPU",
      ]),
      value: Int,
    })),
  }),
  v.strictObject({
    id: v.literal("linux.scrub.cgroup.v1"),
    phase: v.literal(3),
    memoryMax: v.optional(Int),
    pidsMax: v.optional(Int),
    cpuMaxPercent: v.optional(v.number()),
    enforce: Enforce,
  }),
  v.strictObject({ id: v.literal("linux.scrub.setsid.v1"), phase: v.literal(3) }),
  v.strictObject({ id: v.literal("linux.scrub.pdeathsig.v1"), phase: v.literal(3), signal: Int }),
  v.strictObject({ id: v.literal("linux.scrub.ids.v1"), phase: v.literal(3), uid: Int, gid: Int }),
  v.strictObject({
    id: v.literal("linux.scrub.capabilities.v1"),
    phase: v.literal(3),
    keep: v.array(v.string()),
  }),
  v.strictObject({ id: v.literal("linux.scrub.no_new_privs.v1"), phase: v.literal(3) }),
  v.strictObject({ id: v.literal("linux.confine.landlock.v1"), phase: v.literal(4) }),
  v.strictObject({ id: v.literal("linux.confine.seccomp.v1"), phase: v.literal(4) }),
  v.strictObject({ id: v.literal("linux.confine.learn.v1"), phase: v.literal(4) }),
  v.strictObject({ id: v.literal("linux.exec.execveat.v1"), phase: v.literal(5) }),
]);

const Input = v.strictObject({ path: Path, sha256: Hex64, resolved: v.optional(Path) });

const Resource = v.strictObject({ name: v.string(), digest: v.strictObject({ sha256: Hex64 }) });

/** The plan body (the Statement's `predicate`). */
export const LinuxLaunchPlanSchema = v.strictObject({
  planVersion: v.literal(1),
  arch: v.picklist(["x86_64", "aarch64"]),
  target: v.strictObject({
    exe: Path,
    sha256: Hex64,
    argv: v.array(v.string()),
    cwd: Path,
    cwdResolved: v.optional(Path),
    extraArgs: v.boolean(),
    inputs: v.optional(v.array(Input)),
    interpreters: v.optional(v.array(v.strictObject({ path: Path, sha256: Hex64 }))),
  }),
  env: v.strictObject({ set: v.record(v.string(), v.string()), pass: v.array(v.string()) }),
  schedule: v.array(Primitive),
  view: v.optional(v.strictObject({
    mode: v.picklist(["listed", "host"]),
    enforce: Enforce,
    mounts: v.array(ViewMount),
  })),
  landlock: v.optional(v.strictObject({
    enforce: Enforce,
    handledFs: v.array(FsRight),
    fs: v.array(v.strictObject({
      path: Path,
      access: v.array(FsRight),
      implied: v.optional(v.picklist(["target", "interpreter"])),
      sha256: v.optional(Hex64),
      resolved: v.optional(Path),
      inView: v.optional(v.literal(true)),
    })),
    handledNet: v.array(NetRight),
    net: v.array(v.strictObject({ port: Int, access: v.array(NetRight) })),
    scoped: v.array(v.picklist(["abstract_unix_socket", "signal"])),
  })),
  seccomp: v.optional(v.strictObject({
    enforce: Enforce,
    bpfB64: v.string(),
    sha256: Hex64,
    instructions: Int,
    flags: v.array(v.picklist(["log", "spec_allow"])),
  })),
  learn: v.optional(v.strictObject({
    baselineBpfB64: v.string(),
    watch: v.array(v.strictObject({
      nr: Int,
      paths: v.array(v.array(Int)),
      sockaddr: v.optional(v.array(Int)),
    })),
    socketFd: Int,
  })),
  resolvedDependencies: v.array(Resource),
  compiler: v.strictObject({ name: v.string(), version: v.string() }),
  compiledOn: Rfc3339,
  notAfter: v.optional(Rfc3339),
});

/** The whole in-toto Statement carrying a plan. */
export const PlanStatementSchema = v.strictObject({
  _type: v.literal(STATEMENT_TYPE),
  subject: v.pipe(v.array(Resource), v.length(1, "a plan has exactly one subject: the target")),
  predicateType: v.literal(PLAN_PREDICATE_TYPE),
  predicate: LinuxLaunchPlanSchema,
});

/** True when two types are identical (not merely mutually assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

// Fail to type-check when the schema and the plan types drift apart.
const schemaInfersPlan: Equal<v.InferOutput<typeof LinuxLaunchPlanSchema>, LinuxLaunchPlan> = true;
const schemaInfersStatement: Equal<v.InferOutput<typeof PlanStatementSchema>, PlanStatement> = true;
void schemaInfersPlan, schemaInfersStatement;
