/**
 * Where `launch` sends the transcript: a file, stdout, an inherited fd, or a local log
 * daemon (syslog, journald), as the shim's launch request names it.
 *
 * @module
 */
import type { LaunchRequest } from "../ffi/shim.ts";
import { UsageError } from "./args.ts";
import { moveStdoutAside } from "./stdout_aside.ts";

/** The default sockets of the log daemons. */
export const LOG_SOCKETS = {
  syslog: "/dev/log",
  journald: "/run/systemd/journal/socket",
} as const;

/** The transcript flags of `launch`, as given. */
export interface TranscriptFlags {
  transcript?: string;
  controlFd?: string;
  transcriptFd?: string;
  maxBytes?: string;
}

/**
 * Reads the transcript flags into the shim's destination. `-` moves stdout aside (see
 * {@linkcode moveStdoutAside}) and returns the transcript's own fd.
 *
 * @example
 * ```ts ignore
 * import { openTranscriptDestination } from "./transcript_destination.ts";
 * openTranscriptDestination({ transcript: "syslog:" }); // { socket: "/dev/log", protocol: "syslog" }
 * ```
 */
export function openTranscriptDestination(flags: TranscriptFlags): LaunchRequest["transcript"] {
  const given = [flags.transcript, flags.controlFd, flags.transcriptFd].filter((f) =>
    f !== undefined
  );
  if (given.length > 1) {
    throw new UsageError("give one of --transcript, --transcript-fd, --control-fd");
  }
  const fd = flags.transcriptFd ?? flags.controlFd;
  if (fd !== undefined && !/^\d+$/.test(fd)) {
    throw new UsageError("--transcript-fd takes an fd number");
  }
  const socket = flags.transcript?.match(/^(syslog|journald):(.*)$/s);
  if (flags.maxBytes !== undefined && (!socket || !/^[1-9]\d{0,8}$/.test(flags.maxBytes))) {
    throw new UsageError(
      "--transcript-max-bytes takes a byte count, with --transcript syslog: or journald:",
    );
  }
  if (socket) {
    const protocol = socket[1] as keyof typeof LOG_SOCKETS;
    return {
      socket: socket[2] || LOG_SOCKETS[protocol],
      protocol,
      ...(flags.maxBytes ? { maxBytes: Number(flags.maxBytes) } : {}),
    };
  }
  if (flags.transcript === "-") return { fd: moveStdoutAside() };
  if (flags.transcript !== undefined) return { path: flags.transcript };
  return fd !== undefined ? { fd: Number(fd) } : null;
}
