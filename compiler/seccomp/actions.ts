/**
 * Seccomp actions: the policy spelling, the filter return values (`SECCOMP_RET_*`) and their
 * readable names.
 *
 * @module
 */
import { ERRNO_NAMES, errnoNumber } from "./constants.ts";
import { SeccompCompileError } from "./errors.ts";

/**
 * What happens to a syscall, as written in a policy:
 * - `"allow"`: run it;
 * - `"kill"`: kill the calling thread (SECCOMP_RET_KILL_THREAD);
 * - `"kill_process"`: kill the whole process (SECCOMP_RET_KILL_PROCESS);
 * - `"trap"`: send SIGSYS (SECCOMP_RET_TRAP);
 * - `"log"`: run it and log it (SECCOMP_RET_LOG);
 * - `{ errno: "EPERM" }` or `{ errno: 1 }`: fail it with that errno (SECCOMP_RET_ERRNO).
 *
 * Tracing (SECCOMP_RET_TRACE) is not offered: charter runs no tracer, and without one the
 * kernel fails such syscalls with ENOSYS.
 */
export type SeccompAction =
  | "allow"
  | "kill"
  | "kill_process"
  | "trap"
  | "log"
  | { errno: string | number };

/** `SECCOMP_RET_KILL_PROCESS`. */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
/** `SECCOMP_RET_KILL_THREAD` (also `SECCOMP_RET_KILL`). */
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
/** `SECCOMP_RET_TRAP`. */
export const SECCOMP_RET_TRAP = 0x00030000;
/** `SECCOMP_RET_ERRNO` (the errno goes in the low 16 bits). */
export const SECCOMP_RET_ERRNO = 0x00050000;
/** `SECCOMP_RET_USER_NOTIF`. */
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
/** `SECCOMP_RET_TRACE`. */
export const SECCOMP_RET_TRACE = 0x7ff00000;
/** `SECCOMP_RET_LOG`. */
export const SECCOMP_RET_LOG = 0x7ffc0000;
/** `SECCOMP_RET_ALLOW`. */
export const SECCOMP_RET_ALLOW = 0x7fff0000;
/** `SECCOMP_RET_ACTION_FULL`: the action part of a return value. */
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
/** `SECCOMP_RET_DATA`: the data part of a return value. */
export const SECCOMP_RET_DATA = 0x0000ffff;
/** The largest errno the kernel passes through (`MAX_ERRNO`); larger data is clamped. */
export const MAX_ERRNO = 4095;

/** The errno number of ENOSYS, returned for syscall numbers not in the table. */
export const ENOSYS = 38;

/**
 * The filter return value of `SECCOMP_RET_ERRNO` with an errno.
 *
 * @example
 * ```ts
 * import { retErrno } from "./actions.ts";
 * console.log(retErrno(1).toString(16)); // "50001"
 * ```
 */
export function retErrno(errno: number): number {
  return (SECCOMP_RET_ERRNO | (errno & SECCOMP_RET_DATA)) >>> 0;
}

/**
 * Converts a policy action into the filter's return value. `path` is used in errors.
 *
 * @example
 * ```ts
 * import { encodeAction } from "./actions.ts";
 * console.log(encodeAction({ errno: "EACCES" }).toString(16)); // "5000d"
 * ```
 */
export function encodeAction(action: SeccompAction, path = "action"): number {
  switch (action) {
    case "allow":
      return SECCOMP_RET_ALLOW;
    case "kill":
      return SECCOMP_RET_KILL_THREAD;
    case "kill_process":
      return SECCOMP_RET_KILL_PROCESS;
    case "trap":
      return SECCOMP_RET_TRAP;
    case "log":
      return SECCOMP_RET_LOG;
  }
  if (typeof action === "object" && action !== null) {
    const keys = Object.keys(action);
    if (keys.length === 1 && keys[0] === "errno") return retErrno(errnoValue(action.errno, path));
    if (keys.includes("trace")) {
      throw new SeccompCompileError("The trace action is not supported", {
        path,
        hint: "charter runs no tracer; use { errno: ENOSYS } or kill_process instead",
      });
    }
  }
  throw new SeccompCompileError(`Unknown seccomp action ${JSON.stringify(action)}`, {
    path,
    hint: 'use allow, kill, kill_process, trap, log or { errno: "EPERM" }',
  });
}

function errnoValue(errno: string | number, path: string): number {
  if (typeof errno === "number") {
    if (!Number.isInteger(errno) || errno < 0 || errno > MAX_ERRNO) {
      throw new SeccompCompileError(`Errno ${errno} is not an integer from 0 to ${MAX_ERRNO}`, {
        path: `${path}.errno`,
      });
    }
    return errno;
  }
  return errnoNumber(errno, `${path}.errno`);
}

/**
 * A readable name for a filter return value: `ALLOW`, `KILL_PROCESS`, `ERRNO(EPERM)`, ...
 *
 * @example
 * ```ts
 * import { describeReturn } from "./actions.ts";
 * console.log(describeReturn(0x00050026)); // "ERRNO(ENOSYS)"
 * ```
 */
export function describeReturn(ret: number): string {
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & SECCOMP_RET_DATA;
  switch (action) {
    case SECCOMP_RET_KILL_PROCESS:
      return "KILL_PROCESS";
    case SECCOMP_RET_KILL_THREAD:
      return "KILL_THREAD";
    case SECCOMP_RET_TRAP:
      return data === 0 ? "TRAP" : `TRAP(${data})`;
    case SECCOMP_RET_ERRNO: {
      const name = ERRNO_NAMES.get(data);
      return `ERRNO(${name ?? data})`;
    }
    case SECCOMP_RET_USER_NOTIF:
      return "USER_NOTIF";
    case SECCOMP_RET_TRACE:
      return `TRACE(${data})`;
    case SECCOMP_RET_LOG:
      return "LOG";
    case SECCOMP_RET_ALLOW:
      return "ALLOW";
  }
  return `UNKNOWN(0x${(ret >>> 0).toString(16).padStart(8, "0")}, acts as KILL_PROCESS)`;
}

/**
 * Whether a return value lets the syscall run (ALLOW or LOG).
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_LOG, isPermissive } from "./actions.ts";
 * console.log(isPermissive(SECCOMP_RET_LOG)); // true
 * ```
 */
export function isPermissive(ret: number): boolean {
  const action = (ret & SECCOMP_RET_ACTION_FULL) >>> 0;
  return action === SECCOMP_RET_ALLOW || action === SECCOMP_RET_LOG;
}

/**
 * How much a return value lets the calling program do, for comparing filters: a higher
 * rank is more authority. KILL_PROCESS (and unknown actions, which the kernel treats as
 * KILL_PROCESS) 0 < KILL_THREAD 1 < TRAP 2 (a SIGSYS the program may handle) < ERRNO 3
 * (the call fails, the program goes on) < TRACE and USER_NOTIF 4 (a supervisor may run
 * it) < LOG and ALLOW 5 (it runs). The errno value and LOG versus ALLOW do not change the
 * rank.
 *
 * @example
 * ```ts
 * import { authorityRank, retErrno, SECCOMP_RET_ALLOW } from "./actions.ts";
 * console.log(authorityRank(SECCOMP_RET_ALLOW) > authorityRank(retErrno(1))); // true
 * ```
 */
export function authorityRank(ret: number): number {
  switch ((ret & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_ALLOW:
    case SECCOMP_RET_LOG:
      return 5;
    case SECCOMP_RET_TRACE:
    case SECCOMP_RET_USER_NOTIF:
      return 4;
    case SECCOMP_RET_ERRNO:
      return 3;
    case SECCOMP_RET_TRAP:
      return 2;
    case SECCOMP_RET_KILL_THREAD:
      return 1;
  }
  return 0;
}
