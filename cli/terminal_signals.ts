/**
 * Whether a SIGINT or SIGQUIT the launcher received was typed at its terminal, and so
 * already reached a child that shares the launcher's foreground process group (no
 * `new_session`): forwarding it again would deliver it twice, and counting it towards the
 * second-Ctrl-C SIGKILL would kill a REPL the user only meant to interrupt.
 *
 * @module
 */

/** Signals a terminal generates from keys (Ctrl-C, Ctrl-\) for its foreground group. */
const TERMINAL_SIGNALS = new Set([2, 3]);

/** What the launcher does with a signal it received. */
export type TerminalSignalAction =
  /** Not from a terminal as far as the launcher can tell: the usual forwarding. */
  | "untyped"
  /** Typed, and the terminal delivered it to the child as well: nothing more. */
  | "delivered"
  /** Typed, but the child is in another session or group: forward it, never escalate. */
  | "forward"
  /**
   * SIGKILL: typed, and the child is PID 1 of its pid namespace with the default
   * disposition, which the kernel drops there; the default action is to end.
   */
  | "kill";

/** Fields of /proc/PID/stat after the command name (which may hold spaces and parens). */
function statFields(pid: number | "self"): string[] {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** Process group and the foreground process group of the controlling terminal (-1: none). */
function groups(pid: number | "self"): { pgrp: number; tpgid: number } {
  const f = statFields(pid);
  return { pgrp: Number(f[2]), tpgid: Number(f[5]) };
}

/** True when the process is PID 1 of its own pid namespace and runs `signal`'s default. */
function dropsAsNamespaceInit(pid: number, signal: number): boolean {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "m").exec(status)?.[1] ?? "";
  if (field("NSpid").split(/\s+/).at(-1) !== "1" || !field("NSpid").includes("\t")) {
    return false;
  }
  const bit = 1n << BigInt(signal - 1);
  const handled = BigInt(`0x${field("SigCgt")}`) | BigInt(`0x${field("SigIgn")}`);
  return (handled & bit) === 0n;
}

/**
 * Decides what to do with a signal the launcher received while its child runs. A SIGINT
 * or SIGQUIT that arrives while the launcher is in its terminal's foreground group was
 * typed (the launcher cannot tell the sender, so a `kill -INT` aimed at it then counts as
 * typed too): it reached every process of that group, so a child sharing the group has it
 * already; a child in its own session gets it forwarded once. Typed signals never count
 * towards the second-signal SIGKILL, which would end a REPL the user meant to interrupt.
 *
 * @example
 * ```ts ignore
 * import { terminalSignalAction } from "./terminal_signals.ts";
 * console.log(terminalSignalAction(15, child.pid)); // "untyped"
 * ```
 */
export function terminalSignalAction(signal: number, childPid: number): TerminalSignalAction {
  if (!TERMINAL_SIGNALS.has(signal)) return "untyped";
  try {
    const self = groups("self");
    if (self.tpgid !== self.pgrp) return "untyped";
    if (dropsAsNamespaceInit(childPid, signal)) return "kill";
    return groups(childPid).pgrp === self.pgrp ? "delivered" : "forward";
  } catch {
    // No /proc entry: the child is gone, nothing to deliver.
    return "delivered";
  }
}
