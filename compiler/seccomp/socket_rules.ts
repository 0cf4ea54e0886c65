/**
 * `network.protocols` as seccomp rules on socket(): what Landlock cannot restrict (UDP,
 * MPTCP, SCTP, raw, packet, vsock, netlink, pathname UNIX sockets before ABI 9) is denied
 * unless the policy names it. See docs/decisions.md for the choices.
 *
 * @module
 */
import type { NetworkProtocol } from "../../policy/network_protocols.ts";
import type { ArgCondition, SeccompRule } from "./resolve_policy.ts";

/** A socket() call that stands for a protocol: family, type, protocol. */
export interface SocketCall {
  /** The address family constant. */
  family: string;
  /** The socket type constant. */
  type: string;
  /** The protocol constant or number. */
  protocol: string | number;
}

/**
 * The socket() call each protocol makes, for `explain` to run the filter on (the first
 * one of each list is what programs usually call).
 *
 * @example
 * ```ts
 * import { PROTOCOL_SOCKETS } from "./socket_rules.ts";
 * console.log(PROTOCOL_SOCKETS.udp[0].type); // "SOCK_DGRAM"
 * ```
 */
export const PROTOCOL_SOCKETS: Record<NetworkProtocol, readonly SocketCall[]> = {
  tcp: [{ family: "AF_INET", type: "SOCK_STREAM", protocol: 0 }],
  udp: [{ family: "AF_INET", type: "SOCK_DGRAM", protocol: 0 }],
  icmp: [{ family: "AF_INET", type: "SOCK_DGRAM", protocol: "IPPROTO_ICMP" }],
  mptcp: [{ family: "AF_INET", type: "SOCK_STREAM", protocol: "IPPROTO_MPTCP" }],
  sctp: [{ family: "AF_INET", type: "SOCK_SEQPACKET", protocol: "IPPROTO_SCTP" }],
  raw: [{ family: "AF_INET", type: "SOCK_RAW", protocol: "IPPROTO_RAW" }],
  unix: [{ family: "AF_UNIX", type: "SOCK_STREAM", protocol: 0 }],
  netlink_route: [{ family: "AF_NETLINK", type: "SOCK_RAW", protocol: "NETLINK_ROUTE" }],
  netlink: [{ family: "AF_NETLINK", type: "SOCK_RAW", protocol: "NETLINK_NETFILTER" }],
  packet: [{ family: "AF_PACKET", type: "SOCK_RAW", protocol: 0 }],
  vsock: [{ family: "AF_VSOCK", type: "SOCK_STREAM", protocol: 0 }],
};

/** The inet socket types each protocol uses, with the protocol numbers it passes. */
const INET_TYPES: Partial<Record<NetworkProtocol, Record<string, (string | number)[]>>> = {
  tcp: { SOCK_STREAM: [0, "IPPROTO_TCP"] },
  mptcp: { SOCK_STREAM: ["IPPROTO_MPTCP"] },
  sctp: { SOCK_STREAM: ["IPPROTO_SCTP"], SOCK_SEQPACKET: [0, "IPPROTO_SCTP"] },
  udp: { SOCK_DGRAM: [0, "IPPROTO_UDP"] },
  icmp: { SOCK_DGRAM: ["IPPROTO_ICMP", "IPPROTO_ICMPV6"] },
};

/** AF_INET (2) and AF_INET6 (10) differ in bit 3 only: one masked comparison matches both. */
const INET: ArgCondition = { arg: 0, op: "masked_eq", mask: 0xfffffff7, value: "AF_INET" };

const EAFNOSUPPORT = { errno: "EAFNOSUPPORT" } as const;
const EPROTONOSUPPORT = { errno: "EPROTONOSUPPORT" } as const;

/**
 * socketpair(AF_UNIX, SOCK_DGRAM): a datagram socket can still connect() or sendto() any
 * pathname or abstract address (journald, /dev/log, a daemon's notify socket), so it goes
 * with `unix`. Stream and seqpacket pairs stay: connected for good, they reach nothing else.
 */
const DATAGRAM_PAIR: SeccompRule = {
  syscall: "socketpair",
  args: [{ arg: 0, op: "eq", value: "AF_UNIX" }, {
    arg: 1,
    op: "masked_eq",
    mask: 0xf,
    value: "SOCK_DGRAM",
  }],
  action: EPROTONOSUPPORT,
};

/** The type argument with every combination of the flags socket() accepts besides it. */
function typeVariants(type: string): string[] {
  return ["", "|SOCK_NONBLOCK", "|SOCK_CLOEXEC", "|SOCK_NONBLOCK|SOCK_CLOEXEC"].map((f) =>
    type + f
  );
}

/**
 * Deny-only rules on socket() for a policy's network protocols. `undefined` (a policy
 * without a `network` key, whose child has a network namespace) denies only what a network
 * namespace does not isolate: AF_UNIX (pathname sockets reach host daemons; datagram
 * socketpairs too) and AF_VSOCK (the hypervisor). With a `network` key, TCP is always allowed (Landlock restricts its
 * ports) and every other protocol only when named; an unnamed family fails with
 * EAFNOSUPPORT, an unnamed type or protocol of an allowed family with EPROTONOSUPPORT, so
 * programs fall back as they do on kernels without it.
 *
 * @example
 * ```ts
 * import { socketRules } from "./socket_rules.ts";
 * console.log(socketRules(undefined).length, socketRules(["unix"]).length); // 3 3
 * ```
 */
export function socketRules(protocols: readonly NetworkProtocol[] | undefined): SeccompRule[] {
  if (protocols === undefined) {
    return [
      ...["AF_UNIX", "AF_VSOCK"].map((family): SeccompRule => ({
        syscall: "socket",
        args: [{ arg: 0, op: "eq", value: family }],
        action: EAFNOSUPPORT,
      })),
      DATAGRAM_PAIR,
    ];
  }
  const named = new Set<NetworkProtocol>(["tcp", ...protocols]);
  const families = [
    "AF_INET",
    "AF_INET6",
    ...named.has("unix") ? ["AF_UNIX"] : [],
    ...named.has("netlink") || named.has("netlink_route") ? ["AF_NETLINK"] : [],
    ...named.has("packet") ? ["AF_PACKET"] : [],
    ...named.has("vsock") ? ["AF_VSOCK"] : [],
  ];
  const inetTypes = new Map<string, (string | number)[]>();
  for (const protocol of named) {
    for (const [type, numbers] of Object.entries(INET_TYPES[protocol] ?? {})) {
      inetTypes.set(type, [...inetTypes.get(type) ?? [], ...numbers]);
    }
  }
  const allowedTypes = [...inetTypes.keys(), ...named.has("raw") ? ["SOCK_RAW"] : []];
  const rule = (args: ArgCondition[], action: SeccompRule["action"]): SeccompRule => ({
    syscall: "socket",
    args,
    action,
  });
  return [
    rule(families.map((value) => ({ arg: 0, op: "ne", value })), EAFNOSUPPORT),
    rule([
      INET,
      ...allowedTypes.flatMap(typeVariants).map((value) => ({ arg: 1, op: "ne" as const, value })),
    ], EPROTONOSUPPORT),
    ...[...inetTypes].map(([type, numbers]) =>
      rule([
        INET,
        { arg: 1, op: "masked_eq", mask: 0xf, value: type },
        ...[...new Set(numbers)].map((value) => ({ arg: 2, op: "ne" as const, value })),
      ], EPROTONOSUPPORT)
    ),
    ...named.has("unix") ? [] : [DATAGRAM_PAIR],
    ...named.has("netlink_route") && !named.has("netlink")
      ? [
        rule([{ arg: 0, op: "eq", value: "AF_NETLINK" }, {
          arg: 2,
          op: "ne",
          value: "NETLINK_ROUTE",
        }], EPROTONOSUPPORT),
      ]
      : [],
  ];
}
