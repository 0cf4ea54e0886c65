/**
 * A policy's `network` key as seccomp rules: the socket() rules of `network.protocols`, and
 * the TCP calls that reach past Landlock's port rules (a TCP Fast Open send connects without
 * connect(); listen() on an unbound socket binds an ephemeral port without bind()).
 *
 * @module
 */
import type { NetworkProtocol } from "../../policy/network_protocols.ts";
import type { SeccompRule } from "./resolve_policy.ts";
import { socketRules } from "./socket_rules.ts";

/** The `network` key of a policy, as far as seccomp rules care. */
export interface NetworkRulesInput {
  /** Ports the child may bind (Landlock). */
  bind_tcp?: readonly number[];
  /** Protocols besides TCP the child may use. */
  protocols?: readonly NetworkProtocol[];
}

/** MSG_FASTOPEN: TCP Fast Open connects inside sendto/sendmsg, where Landlock does not look. */
const MSG_FASTOPEN = 0x20000000;

/** The flags argument of each sending call. */
const SEND_FLAGS_ARG: Record<string, number> = { sendto: 3, sendmsg: 2, sendmmsg: 3 };

/** Protocols besides TCP whose sockets listen legitimately (and that Landlock does not restrict). */
const LISTENING_PROTOCOLS: readonly NetworkProtocol[] = ["unix", "mptcp", "sctp"];

/**
 * Deny-only rules for a policy's `network` key (`undefined`: no key, the child has a network
 * namespace): {@link socketRules}, and with a key, MSG_FASTOPEN in sendto/sendmsg/sendmmsg
 * (EOPNOTSUPP, what a kernel with client Fast Open disabled returns, so programs retry with
 * connect()), and listen() (EACCES, as Landlock denies a bind) when `bind_tcp` is empty and
 * no protocol that listens besides TCP (unix, mptcp, sctp) is named: seccomp cannot tell a
 * TCP listen() on an unbound socket from another.
 *
 * @example
 * ```ts
 * import { networkRules } from "./network_rules.ts";
 * console.log(networkRules({}).some((r) => r.syscall === "listen")); // true
 * console.log(networkRules({ bind_tcp: [8080] }).some((r) => r.syscall === "listen")); // false
 * ```
 */
export function networkRules(network: NetworkRulesInput | undefined): SeccompRule[] {
  if (network === undefined) return socketRules(undefined);
  const protocols = network.protocols ?? [];
  const fastOpen = Object.entries(SEND_FLAGS_ARG).map(([syscall, arg]): SeccompRule => ({
    syscall,
    args: [{ arg, op: "masked_eq", mask: MSG_FASTOPEN, value: MSG_FASTOPEN }],
    action: { errno: "EOPNOTSUPP" },
  }));
  const listens = (network.bind_tcp?.length ?? 0) > 0 ||
    protocols.some((p) => LISTENING_PROTOCOLS.includes(p));
  return [
    ...socketRules(protocols),
    ...fastOpen,
    ...listens ? [] : [{ syscall: "listen", action: { errno: "EACCES" } }],
  ];
}
