/**
 * The policy language (v1) as a valibot schema: the single source of truth for what a
 * policy may contain. The TypeScript types of policies are inferred from it.
 *
 * @module
 */
import * as v from "valibot";
import type { Policy } from "./types.ts";

type Received = { input: unknown; received: string };

/** A message `what (expected …, got …)` for a valibot check, quoting the whole input. */
function problem(what: string, expected: string): (issue: Received) => string {
  return (issue: Received) =>
    `${what} (expected ${expected}, got ${JSON.stringify(issue.input) ?? issue.received})`;
}

const NAME_RE = /^[a-z0-9._-]+$/;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An absolute path without NUL bytes. */
export const AbsolutePath = v.pipe(
  v.string(),
  v.startsWith("/", problem("not an absolute path", "a path starting with /")),
  v.check((s) => !s.includes("\0"), "a path cannot contain a NUL byte"),
);

/** An environment variable name, as POSIX shells accept them. */
export const EnvName = v.pipe(
  v.string(),
  v.regex(ENV_NAME_RE, problem("not an environment variable name", "letters, digits and _")),
);

/** The program to run and how. */
export const TargetSchema = v.strictObject({
  /** Absolute path of the executable; hashed at compile time, verified at launch. */
  exe: AbsolutePath,
  /** argv, including argv[0]; defaults to the exe's file name. */
  argv: v.optional(
    v.pipe(
      v.array(
        v.pipe(
          v.string(),
          v.check((s) => !s.includes("\0"), "an argument cannot contain a NUL byte"),
        ),
      ),
      v.minLength(1, problem("argv is empty", "at least argv[0]")),
    ),
  ),
  /** Working directory of the child; defaults to `/`. */
  cwd: v.optional(AbsolutePath),
  /** Whether `launch … -- args` may append to argv; defaults to false. */
  extra_args: v.optional(v.boolean()),
});

/** Environment scrub: nothing but `set` and `pass` reaches the child. */
export const EnvSchema = v.strictObject({
  /** Variables set to fixed values. */
  set: v.optional(
    v.record(
      EnvName,
      v.pipe(v.string(), v.check((s) => !s.includes("\0"), "a value cannot contain a NUL byte")),
    ),
  ),
  /** Variables copied from the launcher's environment when present there. */
  pass: v.optional(v.array(EnvName)),
});

/** File descriptors kept open beyond 0, 1 and 2. */
export const FdsSchema = v.strictObject({
  /** Descriptor numbers, each at least 3. */
  pass: v.optional(
    v.array(
      v.pipe(
        v.number(),
        v.integer(problem("not a whole number", "an fd number")),
        v.minValue(3, problem("fds 0, 1 and 2 are always kept", "a number of at least 3")),
        v.maxValue(2 ** 31 - 1, problem("fd number too large", "at most 2147483647")),
      ),
    ),
  ),
});

/** A whole policy file. */
export const PolicySchema = v.strictObject({
  /** The policy language version; always 1. */
  version: v.literal(1, problem("unsupported policy version", "1")),
  /** A short name for the policy: lowercase letters, digits, `.`, `_`, `-`. */
  name: v.pipe(
    v.string(),
    v.regex(
      NAME_RE,
      problem("not a valid policy name", "lowercase letters, digits, '.', '_' or '-'"),
    ),
    v.maxLength(64, problem("name too long", "at most 64 characters")),
  ),
  /** What the policy is for. */
  description: v.optional(v.string()),
  /** The program to run. */
  target: TargetSchema,
  /** The child's environment. */
  env: v.optional(EnvSchema),
  /** Inherited file descriptors. */
  fds: v.optional(FdsSchema),
});

/** True when two types are identical (not merely mutually assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

// Fails to type-check when the schema and the documented Policy type drift apart.
const schemaInfersPolicy: Equal<v.InferOutput<typeof PolicySchema>, Policy> = true;
void schemaInfersPolicy;
