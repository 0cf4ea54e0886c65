/**
 * charter: declarative Linux sandbox policies, compiled into signed launch plans and
 * enforced by a small Rust shim.
 *
 * @example Compile a policy and verify the plan
 * ```ts ignore
 * import { compilePlan, generateSigningKey, loadPolicy, readPlan } from "./mod.ts";
 * const key = await generateSigningKey();
 * const plan = await compilePlan(await loadPolicy("examples/hello.yaml"), key, {
 *   compiledOn: new Date(),
 * });
 * const read = await readPlan(plan.envelopeBytes, [key.publicKey]);
 * console.log(read.statement.predicate.target.exe);
 * ```
 *
 * @module
 */
export * from "./policy/diagnostic.ts";
export * from "./policy/load.ts";
export type { Provenance, ProvenanceMap } from "./policy/merge.ts";
export type { Removal } from "./policy/remove.ts";
export type * from "./policy/types.ts";
export * from "./policy/define_policy.ts";
export type { KeyPath, PolicySource } from "./policy/yaml_source.ts";
export { NETWORK_PROTOCOLS, type NetworkProtocol } from "./policy/network_protocols.ts";
export * from "./compiler/plan.ts";
export * from "./compiler/compile.ts";
export * from "./crypto/dsse.ts";
export * from "./crypto/keys.ts";
export * from "./crypto/digest.ts";
export * from "./audit/transcript_record.ts";
export * from "./audit/verify_plan.ts";
export * from "./audit/verify_transcript.ts";
export * from "./audit/verify_seal.ts";
export * from "./audit/grants.ts";
export * from "./audit/ocsf.ts";
export * from "./audit/json_schemas.ts";
export * from "./ffi/shim.ts";
