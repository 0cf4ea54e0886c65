/**
 * Lowering a validated policy to the shim's phase schedule.
 *
 * @module
 */
import type { Policy } from "../policy/types.ts";
import type { Primitive } from "./plan.ts";

/**
 * Builds the ordered list of primitives for a policy. The scrub primitives are always
 * present: a policy cannot opt out of env and fd scrubbing or no_new_privs.
 *
 * @example
 * ```ts
 * import { lowerSchedule } from "./lower.ts";
 * const schedule = lowerSchedule({ version: 1, name: "x", target: { exe: "/bin/true" } });
 * console.log(schedule.at(-1)?.id); // "linux.exec.execveat.v1"
 * ```
 */
export function lowerSchedule(policy: Policy): Primitive[] {
  const keep = [...new Set(policy.fds?.pass ?? [])].sort((a, b) => a - b);
  return [
    { id: "linux.visibility.cwd.v1", phase: 2 },
    { id: "linux.scrub.signals.v1", phase: 3 },
    { id: "linux.scrub.env.v1", phase: 3 },
    { id: "linux.scrub.fds.v1", phase: 3, keep },
    { id: "linux.scrub.no_new_privs.v1", phase: 3 },
    { id: "linux.exec.execveat.v1", phase: 5 },
  ];
}
