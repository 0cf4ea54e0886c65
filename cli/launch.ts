/**
 * `charter launch`: compile (if given a policy) or read a plan, have the shim verify and
 * run it, forward signals, and exit with the child's status.
 *
 * @module
 */
import { toBase64, toHex } from "../crypto/digest.ts";
import {
  generateSigningKey,
  readPrivateKeyDer,
  readSigningKey,
  readTrustedKeys,
  readTrustedRawKeys,
} from "../crypto/keys.ts";
import { type ChildHandle, type DenialReport, Shim } from "../ffi/shim.ts";
import { EnvelopeError, envelopePayload, parseEnvelope } from "../crypto/dsse.ts";
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { listFlag, parseCommand, stringFlag, UsageError } from "./args.ts";
import { checkPrivate, launcherUid } from "./state_dir.ts";
import { type Command, endedHow, printError, printLaunchFailure } from "./command.ts";
import { terminalSignalAction } from "./terminal_signals.ts";
import { importLazily } from "./lazy_import.ts";
import { readInputFile } from "./input_file.ts";
import { openTranscriptDestination } from "./transcript_destination.ts";
import type { FileFacts } from "./child_file_access.ts";

/** Exit status when the child ran but the transcript could not be completed. */
export const TRANSCRIPT_FAILED = 126;

/** Signals the launcher passes on to the child. */
export const FORWARDED_SIGNALS = [
  ["SIGINT", 2],
  ["SIGTERM", 15],
  ["SIGHUP", 1],
  ["SIGQUIT", 3],
] as const;

/**
 * The plan body a sealed launch will run, read to check that its child cannot read the
 * seal key; `"invalid"` when the envelope or its payload cannot be read. It is read without
 * verifying the signature or the plan's shape: the shim does both on these same bytes and
 * runs nothing it refuses, so a plan that runs is this plan. (Validating here too cost a
 * third of a launch: valibot, the plan schema and the seccomp analysis.)
 */
function planToSeal(envelope: Uint8Array): LinuxLaunchPlan | "invalid" {
  try {
    const payload = envelopePayload(parseEnvelope(envelope));
    const statement = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    const plan = statement?.predicate;
    if (typeof plan === "object" && plan !== null && Array.isArray(plan.schedule)) return plan;
  } catch {
    // Not an envelope, not JSON: the shim refuses it.
  }
  return "invalid";
}

/**
 * True when full verification refuses the plan (the shim applies the same rules). Loads
 * the verifier (valibot, the plan schema, the seccomp analysis) only on this rare path.
 */
async function shimRefuses(envelope: Uint8Array, trustPaths: string[]): Promise<boolean> {
  const { readPlan } = await importLazily<typeof import("../audit/verify_plan.ts")>(
    new URL("../audit/verify_plan.ts", import.meta.url),
  );
  try {
    await readPlan(envelope, await readTrustedKeys(trustPaths));
    return false;
  } catch (e) {
    if (e instanceof EnvelopeError) return true;
    throw e;
  }
}

/** What `launch` learns of a transcript file before deciding whether the child could write it. */
type FileDestinationFacts = Pick<FileFacts, "path" | "owner" | "mode" | "dir">;

/**
 * Owner and mode of the regular file at `path`, or those the shim creates it with (the
 * launcher's, 0644) when nothing is there; undefined for anything else (a FIFO, a device,
 * a link, which the shim refuses itself).
 */
function regularFileFacts(named: string): FileDestinationFacts | undefined {
  // Judged where the shim opens it: a relative path is in the launcher's cwd, not in `/`.
  const path = named.startsWith("/") ? named : `${Deno.cwd()}/${named}`;
  try {
    const st = Deno.lstatSync(path);
    if (!st.isFile) return undefined;
    return { path, ...ownerAndMode(st), dir: dirFacts(path) };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return undefined;
    return { path, owner: launcherUid(), mode: 0o644, dir: dirFacts(path) };
  }
}

/** The owner and permission bits `stat` reports. */
function ownerAndMode(st: Deno.FileInfo): { owner: number; mode: number } {
  return { owner: st.uid ?? -1, mode: (st.mode ?? 0o777) & 0o7777 };
}

/** Owner and mode of the directory holding `path` (undefined when it cannot be examined). */
function dirFacts(path: string): { owner: number; mode: number } | undefined {
  const slash = path.lastIndexOf("/");
  try {
    const st = Deno.statSync(slash <= 0 ? "/" : path.slice(0, slash));
    return ownerAndMode(st);
  } catch {
    return undefined;
  }
}

/**
 * Owner and mode of the regular file an inherited fd writes to (`--transcript -` with stdout
 * redirected to a file, `--transcript-fd N`), with the path it was opened at; undefined for
 * anything else (a pipe, a terminal, a socket).
 */
function regularFdFacts(fd: number): FileDestinationFacts | undefined {
  try {
    const st = Deno.statSync(`/proc/self/fd/${fd}`);
    if (!st.isFile) return undefined;
    const path = Deno.readLinkSync(`/proc/self/fd/${fd}`);
    return { path, ...ownerAndMode(st), dir: dirFacts(path) };
  } catch {
    // Not open: the shim refuses the destination itself.
    return undefined;
  }
}

/**
 * What a failed target's user is told (at a terminal, or after a seccomp kill) when no
 * denial a policy key would allow was recorded: which mechanisms were observed (seccomp's
 * through user notification, Landlock's through the kernel audit stream where it is on and
 * readable), what no observation covers (a path missing from a `listed` view), and the
 * command that records every access.
 *
 * @example
 * ```ts
 * import { denialHint } from "./launch.ts";
 * console.log(denialHint(1, "app.yaml").startsWith("the target exited with 1;")); // true
 * console.log(denialHint(159, "app.yaml").includes("SIGSYS")); // true
 * ```
 */
export function denialHint(
  status: number,
  input: string,
  observed: { seccomp: boolean; landlock: boolean } = { seccomp: false, landlock: false },
): string {
  const how = status === 128 + 31
    ? "was killed by SIGSYS, the signal of a seccomp kill: the policy's syscalls kill a call it made"
    : endedHow(status);
  const policy = input.endsWith(".json") ? "POLICY" : input;
  const seen = [
    ...(observed.seccomp ? ["the seccomp filter"] : []),
    ...(observed.landlock ? ["Landlock"] : []),
  ];
  const unseen = [
    ...(observed.landlock ? [] : [
      "Landlock reports its denials only to the kernel's audit log, which is off or unreadable here",
    ]),
    ...(observed.seccomp ? [] : ["the seccomp filter's denials were not recorded"]),
    "a path missing from the filesystem view is never reported",
  ];
  const recorded = seen.length > 0
    ? `${seen.join(" and ")} denied it nothing a policy key would allow; `
    : "";
  return `the target ${how}; ${recorded}${unseen.join("; ")}: ` +
    `"charter learn ${policy}" runs it recording every access this policy denies, with the key that allows it`;
}

/** The summary lines of recorded denials (the evaluator loads only for a failed target). */
async function summarize(
  report: DenialReport,
  plan: LinuxLaunchPlan | "invalid",
): Promise<string[]> {
  if (plan === "invalid") return [];
  const { denialSummary } = await importLazily<typeof import("./denial_summary.ts")>(
    new URL("./denial_summary.ts", import.meta.url),
  );
  try {
    return denialSummary(report, plan);
  } catch (e) {
    // The child's status is what this command reports; the records are in the transcript.
    printError(`the recorded denials could not be summarised: ${(e as Error).message}`);
    return [];
  }
}

/** The launch command. */
export const launchCommand: Command = {
  name: "launch",
  help: `Usage: charter launch POLICY|PLAN [options] [-- ARGS...]

With a policy (.yaml, .yml), compiles it first and signs it with --key, or with a fresh
ephemeral key. With a plan (.json), the shim verifies it against the --trust keys. Then
the shim runs scrub -> confine -> exec and writes the transcript.

A transcript is sealed by default: its last record is signed by the host's seal key
(STATE/seal.key, created on first use; STATE is /var/lib/charter for root, else
$XDG_STATE_HOME/charter or ~/.local/state/charter). The launch is refused (125) when
the child could read the key: it could forge seals. Confine the policy's filesystem
(Landlock rules that leave the state directory out), or use --no-seal.

SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to the child; a second SIGINT or
SIGTERM sends SIGKILL (PID 1 of a new pid namespace ignores signals it does not handle).
A Ctrl-C or Ctrl-\\ typed at the launcher's terminal never leads to SIGKILL: the child has
it already when it shares the launcher's process group, else it is forwarded once; a
child that is PID 1 of its pid namespace without a handler for it is SIGKILLed instead
(the kernel drops the signal there).

Exit status: the child's own code; 128+N if it died of signal N; 125 refused before any
child ran; 126 a setup step or the exec failed, or the transcript could not be completely
written (the child's own status is then printed); 127 the target does not exist.

Options:
  --key FILE          sign a policy with this key instead of an ephemeral one
  --trust FILE|DIR    trusted public key(s) for a plan; repeatable; a directory adds its *.pub
  --transcript FILE   append the transcript (JSON Lines) to FILE; "-": to stdout, and
                      the child's stdout and charter's own output go to stderr instead;
                      "syslog:[SOCKET]": one RFC 5424 message per record to SOCKET
                      (default /dev/log); "journald:[SOCKET]": one journal entry per
                      record, native protocol (default /run/systemd/journal/socket)
  --transcript-fd N   write the transcript to inherited fd N (also --control-fd N)
  --transcript-max-bytes N
                      syslog/journald: the largest message the receiver keeps whole
                      (default 8192, rsyslog's default, for syslog; 131072 for journald);
                      a larger record stops the launch (126 before the exec)
    --plan-out FILE     with a policy: also write the compiled plan, which the transcript
                      chains to (for "transcript verify --plan FILE")
  --transcript-key K  seal the transcript with this Ed25519 key (PKCS#8 PEM) instead of
                      the host's seal key
  --no-seal           do not seal the transcript ("transcript verify" then needs
                      --allow-unsealed)
  -h, --help          show this help
  -- ARGS...          appended to argv when the policy allows extra_args`,
  async run(argv) {
    const args = parseCommand(argv, {
      key: { type: "string" },
      trust: { type: "string", multiple: true },
      transcript: { type: "string" },
      "control-fd": { type: "string" },
      "transcript-fd": { type: "string" },
      "transcript-max-bytes": { type: "string" },
      "transcript-key": { type: "string" },
      "no-seal": { type: "boolean" },
      "plan-out": { type: "string" },
    });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 1) {
      throw new UsageError("launch takes exactly one policy or plan; see --help");
    }
    const input = args.positionals[0];
    const transcriptPath = stringFlag(args.values, "transcript");
    const destination = openTranscriptDestination({
      transcript: transcriptPath,
      controlFd: stringFlag(args.values, "control-fd"),
      transcriptFd: stringFlag(args.values, "transcript-fd"),
      maxBytes: stringFlag(args.values, "transcript-max-bytes"),
    });
    const noSeal = args.values["no-seal"] === true;
    const sealKeyPath = stringFlag(args.values, "transcript-key");
    if (noSeal && sealKeyPath !== undefined) {
      throw new UsageError("give --transcript-key or --no-seal, not both");
    }
    // Raw keys only: the shim verifies; WebCrypto keys are imported only if needed below.
    const trustPaths = listFlag(args.values, "trust");
    const trusted: Uint8Array[] = readTrustedRawKeys(trustPaths);
    let envelope: Uint8Array;
    let plan: LinuxLaunchPlan | undefined;
    if (input.endsWith(".json")) {
      if (trusted.length === 0) {
        throw new UsageError("launching a plan needs --trust with the signer's public key");
      }
      if (stringFlag(args.values, "plan-out") !== undefined) {
        throw new UsageError("--plan-out is for launching a policy; this is a plan already");
      }
      // Synchronously: a launch's first asynchronous file operation costs ~0.2 ms more.
      envelope = readInputFile(input);
    } else {
      const keyPath = stringFlag(args.values, "key");
      const key = keyPath ? await readSigningKey(keyPath) : await generateSigningKey();
      // The compiler (valibot, yaml, syscall tables) loads only when there is a policy to compile.
      const [{ compilePlan }, { loadPolicy }] = await Promise.all([
        importLazily<typeof import("../compiler/compile.ts")>(
          new URL("../compiler/compile.ts", import.meta.url),
        ),
        importLazily<typeof import("../policy/load.ts")>(
          new URL("../policy/load.ts", import.meta.url),
        ),
      ]);
      const compiled = await compilePlan(await loadPolicy(input), key, {
        compiledOn: new Date(),
      });
      envelope = compiled.envelopeBytes;
      plan = compiled.statement.predicate;
      trusted.push(key.publicKey.raw);
      // The plan a transcript chains to: keep it to verify the transcript later.
      const planOut = stringFlag(args.values, "plan-out");
      if (planOut !== undefined) await Deno.writeFile(planOut, envelope);
    }
    using shim = Shim.open();
    // Nothing to seal without a destination.
    let seal = noSeal || destination === null
      ? undefined
      : sealKeyPath === undefined
      ? await (await importLazily<typeof import("./seal_key.ts")>(
        new URL("./seal_key.ts", import.meta.url),
      )).hostSealKey()
      : { pkcs8: readPrivateKeyDer(sealKeyPath), path: checkPrivate(sealKeyPath, "file") };
    // A file the child could write is refused however the launcher got it: by path, or
    // as its stdout or an inherited fd redirected to the file.
    const transcriptFile = destination && "path" in destination
      ? regularFileFacts(destination.path)
      : destination && "fd" in destination
      ? regularFdFacts(destination.fd)
      : undefined;
    // Only a seal key or a transcript file can be exposed to the child: the plan is read,
    // and the decision (with the plan's ids and Landlock rules it needs) loaded, only then.
    if (input.endsWith(".json") && (seal || transcriptFile)) {
      const read = planToSeal(envelope);
      // The shim refuses what cannot be read; without the key, so it reaches no child.
      if (read === "invalid") seal = undefined;
      else plan = read;
    }
    if (plan && (seal || transcriptFile)) {
      const { childFileAccess, sealKeyExposure } = await importLazily<
        typeof import("./child_file_access.ts")
      >(new URL("./child_file_access.ts", import.meta.url));
      const landlockAbi = () => Number(shim.probe().landlockAbi ?? 0);
      let exposed: string | undefined;
      try {
        const read = seal && sealKeyExposure(plan, {
          path: seal.path,
          owner: Deno.statSync(seal.path).uid ?? -1,
          launcherUid: launcherUid(),
          landlockAbi,
        });
        const written = !read && transcriptFile &&
          childFileAccess(
            plan,
            { ...transcriptFile, role: "transcript file", launcherUid: launcherUid(), landlockAbi },
            "write",
          );
        if (read) {
          exposed =
            `launch refused: the child could read the seal key ${seal?.path} (${read}), so it could forge the seal; ` +
            "confine the policy's filesystem with Landlock rules that leave the key's directory out, or launch with --no-seal";
        } else if (written) {
          exposed =
            `launch refused: the child could write the transcript file ${transcriptFile.path} (${written}), so it could forge the records or take the room reserved for those after the exec; ` +
            "write the transcript outside the policy's write tree, to a file the child's uid cannot write";
        }
      } catch (e) {
        // A malformed plan body (the shim refuses it): it runs nothing, and gets no key.
        if (!(e instanceof TypeError)) throw e;
        seal = undefined;
      }
      // Before refusing, let the shim refuse a plan it would not run anyway (signature,
      // shape, program), so that its refusal is what the transcript records.
      if (exposed && input.endsWith(".json") && await shimRefuses(envelope, trustPaths)) {
        exposed = undefined;
        seal = undefined;
      }
      if (exposed) {
        printError(exposed);
        return 125;
      }
    }
    const sealKey = seal === undefined ? undefined : toBase64(seal.pkcs8);
    // Listen before the child exists: a signal that arrives during the (synchronous)
    // launch is dispatched on a later turn of the event loop, when `child` is set, so it
    // reaches the child instead of leaving it orphaned by a dead launcher.
    let child: ChildHandle | undefined;
    let stops = 0;
    const listeners = FORWARDED_SIGNALS.map(([name, number]) => {
      const forward = () => {
        // A key typed at the terminal (Ctrl-C) is delivered once and never escalates.
        const typed = child ? terminalSignalAction(number, child.pid) : "untyped";
        if (typed === "delivered") return;
        if (typed === "kill") return void child?.signal(9);
        if (typed === "forward") return void child?.signal(number);
        // A second SIGINT/SIGTERM means it: SIGKILL. A target that is PID 1 of its own
        // pid namespace never sees signals it has no handler for, except SIGKILL.
        const stop = number === 2 || number === 15;
        const signal = stop && ++stops > 1 ? 9 : number;
        child?.signal(signal);
      };
      Deno.addSignalListener(name, forward);
      return () => Deno.removeSignalListener(name, forward);
    });
    let status: number;
    let denials: DenialReport | null = null;
    try {
      const launched = shim.launch(envelope, {
        trustedKeys: trusted.map(toHex),
        transcript: destination,
        extraArgs: args.rest,
        ...(sealKey ? { sealKeyPkcs8: sealKey } : {}),
      });
      if ("exitCode" in launched) {
        printLaunchFailure("launch", launched.outcome);
        return launched.exitCode;
      }
      child = launched;
      status = await child.wait();
      // Only a failure is explained: binding the rarely used symbols costs a launch time.
      if (status !== 0 && stops === 0) denials = child.denials();
    } finally {
      for (const remove of listeners) remove();
    }
    const transcriptErrno = await child.release();
    if (transcriptErrno !== 0) {
      // The child ran, but its evidence is incomplete: never report that as a clean run.
      printError(
        `the transcript could not be completely written (errno ${transcriptErrno}); ` +
          `the child ${endedHow(status)}`,
      );
      return TRANSCRIPT_FAILED;
    }
    // A signal the launcher forwarded explains itself; any other failure may be a denial.
    // What the shim recorded is said always; otherwise the hint, to a person at a terminal
    // and always for a seccomp kill; a script's stderr (a grep exiting 1) stays its own.
    if (status === 0 || stops > 0) return status;
    const summary = denials?.denials.length || denials?.landlock?.length
      ? await summarize(denials, plan ?? planToSeal(envelope))
      : [];
    for (const line of summary) printError(line);
    const seccompKill = status === 128 + 31;
    if (summary.length === 0 && (seccompKill || Deno.stderr.isTerminal())) {
      printError(denialHint(status, input, {
        seccomp: denials?.recorded === true,
        landlock: Array.isArray(denials?.landlock),
      }));
    }
    return status;
  },
};
