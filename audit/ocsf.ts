/**
 * Export of transcripts as OCSF Process Activity events (class_uid 1007), so SIEMs and
 * security lakes can ingest launches without knowing charter's record format. The events
 * validate against the official ocsf-schema sources of each version offered (tests/vendor/).
 *
 * @module
 */
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { COMPILER } from "../compiler/compile.ts";
import { hostIds } from "./phase_details.ts";
import { MAX_OPEN_LAUNCHES } from "./verify_transcript.ts";
import type { TranscriptRecord } from "./transcript_record.ts";

/** The OCSF schema versions events can follow: 1.3.0 and the newest 1.x release. */
export const OCSF_VERSIONS = ["1.3.0", "1.8.0"] as const;

/** An OCSF schema version of {@linkcode OCSF_VERSIONS}. */
export type OcsfVersion = typeof OCSF_VERSIONS[number];

/** The OCSF schema version events follow unless asked otherwise. */
export const OCSF_VERSION: OcsfVersion = "1.3.0";

/** An OCSF event, as a plain JSON object. */
export type OcsfEvent = Record<string, unknown>;

/** How {@linkcode toOcsf} describes what it cannot read from the records. */
export interface OcsfOptions {
  /** The launched plan: adds the command line and the child's user. */
  plan?: LinuxLaunchPlan;
  /** The schema version to follow (default {@linkcode OCSF_VERSION}). */
  version?: OcsfVersion;
  /**
   * The host the launches ran on (records do not name it). Default: this machine's
   * hostname, so export where you launch or say which host it was.
   */
  hostname?: string;
}

const CLASS_UID = 1007;
const LAUNCH = 1;
const TERMINATE = 2;
const SHA256 = 3;
const FILE_TYPE_REGULAR = 1;
const OS_LINUX = 200;

const SEVERITY = { 1: "Informational", 3: "Medium" } as const;
const STATUS = { 1: "Success", 2: "Failure" } as const;
const ACTION = { 1: "Allowed", 2: "Denied" } as const;
const DISPOSITION = { 1: "Allowed", 2: "Blocked", 27: "Error" } as const;

/** Observable type ids of the dictionary (types and attributes that name one). */
const OBSERVABLE = {
  hostname: [1, "Hostname"],
  file_name: [7, "File Name"],
  file_hash: [8, "Hash"],
  process_name: [9, "Process Name"],
  cmd_line: [13, "Command Line"],
  pid: [15, "Process ID"],
} as const;

/** Linux signal names (x86_64 and aarch64 agree on 1–31). */
const SIGNALS = [
  "",
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGILL",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGFPE",
  "SIGKILL",
  "SIGUSR1",
  "SIGSEGV",
  "SIGUSR2",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGCHLD",
  "SIGCONT",
  "SIGSTOP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];

/**
 * Quotes argv for a POSIX shell, so `cmd_line` says exactly what ran: words of safe
 * characters stay bare, others are single-quoted (a `'` becomes `'\''`).
 *
 * @example
 * ```ts
 * import { shellQuoteArgv } from "./ocsf.ts";
 * console.log(shellQuoteArgv(["sh", "-c", "echo it's"])); // sh -c 'echo it'\''s'
 * ```
 */
export function shellQuoteArgv(argv: readonly string[]): string {
  return argv.map((a) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

/** The per-launch facts the events of one launchId share. */
interface LaunchFacts {
  started?: TranscriptRecord;
  handles?: TranscriptRecord;
  created?: TranscriptRecord;
  sealer?: string;
}

/**
 * Maps transcript records to OCSF Process Activity events, one Launch and at most one
 * Terminate per process: Launch (100701) for `exec_succeeded` (status Success, action
 * Allowed) or for the `setup_refused` (Failure, Denied, Blocked) or `setup_faulted`
 * (Failure, Denied, Error) that ended the launch before the target ran; Terminate
 * (100702) for `child_exited`, with `exit_code` only when the process exited (a signal
 * death has none: the signal is in `status_detail` and `unmapped`). Other records
 * (phases, the seal) are not process activity and are skipped, and so are `denied`
 * records: a syscall the filter failed is no process activity either, and OCSF has no
 * class for it short of an invented activity; they stay in the transcript. Launches of one file may
 * interleave: each event takes its facts from records of its own launchId.
 *
 * Throws on a line that did not parse (`{ error }` from {@linkcode splitTranscript}):
 * exporting around a gap would hide it.
 *
 * @example
 * ```ts ignore
 * import { splitTranscript, toOcsf } from "./mod.ts";
 * const lines = splitTranscript(await Deno.readFile("t.jsonl"));
 * for (const event of toOcsf(lines.map((l) => l.record))) console.log(JSON.stringify(event));
 * ```
 */
export function toOcsf(
  records: readonly (TranscriptRecord | { error: string })[],
  options: OcsfOptions = {},
): OcsfEvent[] {
  records.forEach((r, i) => {
    if ("error" in r && typeof r.error === "string" && !("event" in r)) {
      throw new Error(`record ${i + 1} is not a transcript record: ${r.error}`);
    }
  });
  const exportRecord = ocsfExporter(options);
  return (records as TranscriptRecord[]).flatMap(exportRecord);
}

/**
 * The mapping of {@linkcode toOcsf} one record at a time, for transcripts read as a
 * stream: the events a record makes, from the facts of its launch's earlier records
 * (kept until the launch's seal).
 *
 * @example
 * ```ts ignore
 * import { ocsfExporter, readTranscriptLines } from "./mod.ts";
 * const exportRecord = ocsfExporter({ hostname: "builder" });
 * for await (const { record } of readTranscriptLines(file.readable)) {
 *   if (!("error" in record)) for (const e of exportRecord(record)) console.log(JSON.stringify(e));
 * }
 * ```
 */
export function ocsfExporter(options: OcsfOptions = {}): (record: TranscriptRecord) => OcsfEvent[] {
  const version = options.version ?? OCSF_VERSION;
  const hostname = options.hostname ?? Deno.hostname();
  const plan = options.plan;
  const launches = new Map<string, LaunchFacts>();

  const device = {
    ...(isHostname(hostname) ? { hostname } : { name: hostname }),
    type_id: 0,
    type: "Unknown",
    os: { name: "Linux", type_id: OS_LINUX, type: "Linux" },
  };

  const processes = (r: TranscriptRecord) => {
    const { started, handles, created } = launches.get(r.launchId)!;
    const launcherUser = started ? { uid: String(started.uid) } : undefined;
    const launcher = {
      name: "charter",
      ...(started ? { pid: started.pid as number, created_time: ms(started.time) } : {}),
      uid: `${r.launchId}:launcher`,
      ...(launcherUser ? { user: launcherUser } : {}),
    };
    const exe = (handles?.exe as string | undefined) ?? plan?.target.exe;
    const exeSha256 = (handles?.exeSha256 as string | undefined) ?? plan?.target.sha256;
    const name = exe ? exe.slice(exe.lastIndexOf("/") + 1) : "unknown";
    const childIds = plan && started
      ? hostIds(plan, { uid: started.uid as number, gid: started.gid as number })
      : undefined;
    const target = {
      name,
      uid: r.launchId,
      ...(created ? { pid: created.pid as number, created_time: ms(created.time) } : {}),
      // Arguments appended at launch (extra_args) are in no record: no command line then,
      // rather than one that may be short.
      ...(plan && !plan.target.extraArgs ? { cmd_line: shellQuoteArgv(plan.target.argv) } : {}),
      ...(exe
        ? {
          file: {
            name,
            path: exe,
            type_id: FILE_TYPE_REGULAR,
            type: "Regular File",
            ...(exeSha256
              ? { hashes: [{ algorithm_id: SHA256, algorithm: "SHA-256", value: exeSha256 }] }
              : {}),
          },
        }
        : {}),
      ...(childIds ? { user: { uid: String(childIds.uid) } } : {}),
      parent_process: launcher,
    };
    return { launcher, launcherUser, target };
  };

  const event = (
    r: TranscriptRecord,
    activity: typeof LAUNCH | typeof TERMINATE,
    outcome: {
      status: keyof typeof STATUS;
      severity: keyof typeof SEVERITY;
      statusCode?: string;
      detail?: string;
      control?: { action: keyof typeof ACTION; disposition: keyof typeof DISPOSITION };
      exitCode?: number;
    },
  ): OcsfEvent => {
    const { launcher, launcherUser, target } = processes(r);
    const activityName = activity === LAUNCH ? "Launch" : "Terminate";
    const provider = launches.get(r.launchId)!.started?.shim as { name?: string } | undefined;
    const observables = [
      observable(
        "device.hostname",
        OBSERVABLE.hostname,
        isHostname(hostname) ? hostname : undefined,
      ),
      observable("process.name", OBSERVABLE.process_name, target.name),
      observable("process.pid", OBSERVABLE.pid, target.pid),
      observable("process.cmd_line", OBSERVABLE.cmd_line, target.cmd_line),
      observable("process.file.name", OBSERVABLE.file_name, target.file?.name),
      observable("process.file.hashes.value", OBSERVABLE.file_hash, target.file?.hashes?.[0].value),
      observable("actor.process.name", OBSERVABLE.process_name, launcher.name),
      observable("actor.process.pid", OBSERVABLE.pid, launcher.pid),
    ].filter((o) => o !== undefined);
    return {
      activity_id: activity,
      activity_name: activityName,
      category_uid: 1,
      category_name: "System Activity",
      class_uid: CLASS_UID,
      class_name: "Process Activity",
      type_uid: CLASS_UID * 100 + activity,
      type_name: `Process Activity: ${activityName}`,
      severity_id: outcome.severity,
      severity: SEVERITY[outcome.severity],
      status_id: outcome.status,
      status: STATUS[outcome.status],
      ...(outcome.statusCode ? { status_code: outcome.statusCode } : {}),
      ...(outcome.detail ? { status_detail: outcome.detail } : {}),
      ...(outcome.control
        ? {
          action_id: outcome.control.action,
          action: ACTION[outcome.control.action],
          disposition_id: outcome.control.disposition,
          disposition: DISPOSITION[outcome.control.disposition],
        }
        : {}),
      ...(activity === LAUNCH && version !== "1.3.0"
        ? { launch_type_id: 1, launch_type: "Spawn" }
        : {}),
      ...(outcome.exitCode !== undefined ? { exit_code: outcome.exitCode } : {}),
      time: ms(r.time),
      // Records are stamped in UTC.
      timezone_offset: 0,
      message: r.event,
      metadata: {
        version,
        profiles: outcome.control ? ["host", "security_control"] : ["host"],
        product: { name: COMPILER.name, vendor_name: COMPILER.name, version: COMPILER.version },
        correlation_uid: r.launchId,
        sequence: r.seq,
        uid: `${r.launchId}:${r.seq}`,
        log_name: "charter transcript",
        log_provider: provider?.name ?? "charter_shim",
        original_time: r.time,
      },
      actor: {
        process: launcher,
        ...(launcherUser ? { user: launcherUser } : {}),
        app_name: "charter",
      },
      device,
      process: target,
      observables,
      unmapped: { charter: r },
    };
  };

  return (r) => {
    const facts = launches.get(r.launchId) ?? {};
    launches.set(r.launchId, facts);
    if (r.event === "launcher_started") facts.started = r;
    if (r.event === "handles_verified") facts.handles = r;
    if (r.event === "child_created") facts.created = r;
    // At most MAX_OPEN_LAUNCHES launches' facts are kept (a stream of launches that never
    // end cannot grow memory): the oldest open one is forgotten, and its later events
    // lack what its first records said.
    if (launches.size > MAX_OPEN_LAUNCHES) launches.delete(launches.keys().next().value!);
    const out: OcsfEvent[] = [];
    if (r.event === "exec_succeeded") {
      out.push(event(r, LAUNCH, {
        status: 1,
        severity: 1,
        control: { action: 1, disposition: 1 },
      }));
    } else if (r.event === "setup_refused") {
      out.push(event(r, LAUNCH, {
        status: 2,
        severity: 3,
        statusCode: String(r.reason),
        detail: `${r.reason}: ${r.detail}`,
        control: { action: 2, disposition: 2 },
      }));
    } else if (r.event === "setup_faulted") {
      out.push(event(r, LAUNCH, {
        status: 2,
        severity: 3,
        statusCode: String(r.step),
        detail: `${r.step} failed (errno ${r.errno}): ${r.detail}`,
        control: { action: 2, disposition: 27 },
      }));
    } else if (r.event === "child_exited") {
      const signal = r.signal as number | undefined;
      out.push(event(r, TERMINATE, {
        status: 1,
        severity: 1,
        ...(signal === undefined
          ? { exitCode: r.code as number, detail: `exited with code ${r.code}` }
          : {
            detail: `killed by signal ${signal}${SIGNALS[signal] ? ` (${SIGNALS[signal]})` : ""}`,
          }),
      }));
    }
    // Only the seal can follow a launch's last event, and it makes none: the facts are no
    // longer needed (also in unsealed streams, which have no seal). A refusal or fault
    // after child_created is not the last: the child's child_exited follows it.
    const ended = r.event === "child_exited" || r.event === "transcript_sealed" ||
      ((r.event === "setup_refused" || r.event === "setup_faulted") && !facts.created);
    if (ended) launches.delete(r.launchId);
    return out;
  };
}

function ms(time: unknown): number {
  return Date.parse(time as string);
}

function isHostname(name: string): boolean {
  return /^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/
    .test(name);
}

function observable(
  name: string,
  [typeId, type]: readonly [number, string],
  value: string | number | undefined,
) {
  return value === undefined ? undefined : { name, type_id: typeId, type, value: String(value) };
}
