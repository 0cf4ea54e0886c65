/**
 * `--transcript -`: the transcript takes the launcher's stdout and everything else that
 * would have gone there (the child's stdout, the launcher's own output) goes to stderr,
 * so stdout carries JSON Lines and nothing else.
 *
 * @module
 */

import { UsageError } from "./args.ts";

const F_DUPFD_CLOEXEC = 1030;

function sameFile(a: string, b: string): boolean {
  try {
    const [x, y] = [Deno.statSync(a), Deno.statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Moves stdout out of the way: returns a close-on-exec duplicate of the original stdout
 * (for the transcript) and points fd 1 at stderr, which the child inherits as its stdout.
 *
 * @example
 * ```ts ignore
 * import { moveStdoutAside } from "./stdout_aside.ts";
 * const transcriptFd = moveStdoutAside(); // then launch with { fd: transcriptFd }
 * ```
 */
export function moveStdoutAside(): number {
  if (!Deno.stdout.isTerminal() && sameFile("/proc/self/fd/1", "/proc/self/fd/2")) {
    // The child's stdout, moved to stderr, would land among the records all the same.
    throw new UsageError(
      "--transcript -: stdout and stderr are the same file, so the child's output would mix with the records; send stderr elsewhere (2>FILE) or use --transcript FILE",
    );
  }
  const libc = Deno.dlopen("libc.so.6", {
    fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
    dup2: { parameters: ["i32", "i32"], result: "i32" },
  });
  try {
    const saved = libc.symbols.fcntl(1, F_DUPFD_CLOEXEC, 3);
    if (saved < 0) throw new Error("duplicating stdout for the transcript failed");
    if (libc.symbols.dup2(2, 1) < 0) throw new Error("pointing stdout at stderr failed");
    return saved;
  } finally {
    libc.close();
  }
}
