/**
 * The shape of a LinuxLaunchPlan v1 and of the in-toto Statement that carries it.
 * `docs/plan-and-shim.md` is the prose contract; the shim parses exactly these keys.
 *
 * @module
 */

/** The in-toto Statement type. */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";

/** The predicate type that names LinuxLaunchPlan v1. */
export const PLAN_PREDICATE_TYPE = "https://charter.dev/LinuxLaunchPlan/v1";

/** The phases of a launch, in order. */
export const PHASES = ["identity", "visibility", "scrub", "confine", "exec"] as const;

/** The name of a phase. */
export type PhaseName = typeof PHASES[number];

/** One schedule entry: a primitive the shim must apply, in phase order. */
export type Primitive =
  | { id: "linux.visibility.cwd.v1"; phase: 2 }
  | { id: "linux.scrub.signals.v1"; phase: 3 }
  | { id: "linux.scrub.env.v1"; phase: 3 }
  | { id: "linux.scrub.fds.v1"; phase: 3; keep: number[] }
  | { id: "linux.scrub.no_new_privs.v1"; phase: 3 }
  | { id: "linux.exec.execveat.v1"; phase: 5 };

/** A digest-bearing reference, in in-toto ResourceDescriptor form. */
export interface ResourceDescriptor {
  /** The resource's name (a path). */
  name: string;
  /** Its digests. */
  digest: { sha256: string };
}

/** The plan body: the `predicate` of the Statement. */
export interface LinuxLaunchPlan {
  /** Always 1. */
  planVersion: 1;
  /** AUDIT_ARCH name of the architecture the plan was compiled for. */
  arch: "x86_64" | "aarch64";
  /** The program and how to start it. */
  target: {
    exe: string;
    sha256: string;
    argv: string[];
    cwd: string;
    extraArgs: boolean;
  };
  /** The child's environment: `set` values and `pass` names, nothing else. */
  env: { set: Record<string, string>; pass: string[] };
  /** Primitives in non-decreasing phase order. */
  schedule: Primitive[];
  /** Every policy file that contributed, with its digest. */
  resolvedDependencies: ResourceDescriptor[];
  /** The compiler that produced the plan. */
  compiler: { name: string; version: string };
  /** When the plan was compiled, RFC 3339 UTC. */
  compiledOn: string;
  /** After this instant the shim refuses the plan, RFC 3339 UTC. */
  notAfter?: string;
}

/** The in-toto Statement v1 that is the DSSE payload. */
export interface PlanStatement {
  /** {@link STATEMENT_TYPE}. */
  _type: typeof STATEMENT_TYPE;
  /** The target executable with its digest. */
  subject: ResourceDescriptor[];
  /** {@link PLAN_PREDICATE_TYPE}. */
  predicateType: typeof PLAN_PREDICATE_TYPE;
  /** The plan body. */
  predicate: LinuxLaunchPlan;
}
