/**
 * The public types of a validated policy. `schema.ts` checks at compile time that its
 * valibot schema infers exactly these types, so the documentation cannot drift from the
 * validator.
 *
 * @module
 */

/** The program to run and how. */
export interface PolicyTarget {
  /** Absolute path of the executable; hashed at compile time, verified at launch. */
  exe: string;
  /** argv including argv[0]; defaults to the exe's file name. */
  argv?: string[];
  /** Working directory of the child; defaults to `/`. */
  cwd?: string;
  /** Whether `launch … -- args` may append to argv; defaults to false. */
  extra_args?: boolean;
}

/** The child's environment: nothing but `set` and `pass` reaches it. */
export interface PolicyEnv {
  /** Variables set to fixed values. */
  set?: { [name: string]: string };
  /** Variables copied from the launcher's environment when present there. */
  pass?: string[];
}

/** File descriptors kept open beyond 0, 1 and 2. */
export interface PolicyFds {
  /** Descriptor numbers, each at least 3. */
  pass?: number[];
}

/** A validated policy (language v1). */
export interface Policy {
  /** The policy language version; always 1. */
  version: 1;
  /** A short name: lowercase letters, digits, `.`, `_`, `-`. */
  name: string;
  /** What the policy is for. */
  description?: string;
  /** The program to run. */
  target: PolicyTarget;
  /** The child's environment. */
  env?: PolicyEnv;
  /** Inherited file descriptors. */
  fds?: PolicyFds;
}
