/**
 * `definePolicy`: the typed entry point of TypeScript policies.
 *
 * @module
 */
import type { PolicyInput } from "./types.ts";

/**
 * Declares a policy in TypeScript. The parameter type is the policy schema's input
 * type, so `deno check` catches mistakes; `charter check` validates it at run time too.
 *
 * @example
 * ```ts
 * import { definePolicy } from "./define_policy.ts";
 * export default definePolicy({
 *   version: 1,
 *   name: "hello",
 *   target: { exe: "/usr/bin/echo", argv: ["echo", "hi"] },
 * });
 * ```
 */
export function definePolicy(policy: PolicyInput): PolicyInput {
  return policy;
}
