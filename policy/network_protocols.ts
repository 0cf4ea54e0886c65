/**
 * The protocols `network.protocols` can name: what a sandboxed program may use besides
 * TCP once its policy has a `network` key (the compiler turns them into socket() rules).
 *
 * @module
 */

/**
 * Every protocol name, in the order `explain` lists them: `tcp` (always allowed with a
 * `network` key; Landlock restricts its ports), `udp`, `icmp` (ping sockets), `mptcp`,
 * `sctp`, `raw` (SOCK_RAW of AF_INET/AF_INET6), `unix` (AF_UNIX sockets, pathname and
 * abstract), `netlink_route` (NETLINK_ROUTE only, as getaddrinfo and `ip` use), `netlink`
 * (every netlink family), `packet` (AF_PACKET), `vsock` (AF_VSOCK, the hypervisor).
 *
 * @example
 * ```ts
 * import { NETWORK_PROTOCOLS } from "./network_protocols.ts";
 * console.log(NETWORK_PROTOCOLS.includes("udp")); // true
 * ```
 */
export const NETWORK_PROTOCOLS = [
  "tcp",
  "udp",
  "icmp",
  "mptcp",
  "sctp",
  "raw",
  "unix",
  "netlink_route",
  "netlink",
  "packet",
  "vsock",
] as const;

/** One of {@link NETWORK_PROTOCOLS}. */
export type NetworkProtocol = typeof NETWORK_PROTOCOLS[number];
