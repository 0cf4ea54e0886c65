/**
 * Export of transcripts as OCSF 1.3.0 Process Activity events (class_uid 1007), so SIEMs
 * and security lakes can ingest launches without knowing charter's record format.
 *
 * @module
 */
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { COMPILER } from "../compiler/compile.ts";
import type { TranscriptRecord } from "./transcript_record.ts";

/** The OCSF schema version the events follow. */
export const OCSF_VERSION = "1.3.0";

const CLASS_UID = 1007;
const LAUNCH = 1;
const TERMINATE = 2;
const STATUS_SUCCESS = 1;
const STATUS_FAILURE = 2;
const DISPOSITION_BLOCKED = 2;
const SEVERITY_INFORMATIONAL = 1;
const SEVERITY_MEDIUM = 3;
const SHA256 = 3;
const FILE_TYPE_REGULAR = 1;

/** An OCSF event, as a plain JSON object. */
export type OcsfEvent = Record<string, unknown>;

/**
 * Maps the records of one launch to OCSF Process Activity events: Launch (100701) for
 * `child_created` and `exec_succeeded`, and for refusals and faults with status Failure
 * (refusals also disposition Blocked); Terminate (100702) with the exit code for
 * `child_exited`. Other records (phases) are not process activity and are skipped.
 *
 * @example
 * ```ts ignore
 * import { toOcsf } from "./ocsf.ts";
 * for (const event of toOcsf(records, plan)) console.log(JSON.stringify(event));
 * ```
 */
export function toOcsf(records: TranscriptRecord[], plan?: LinuxLaunchPlan): OcsfEvent[] {
  const started = records.find((r) => r.event === "launcher_started");
  const handles = records.find((r) => r.event === "handles_verified");
  const childPid = records.find((r) => r.event === "child_created")?.pid as number | undefined;
  const exe = (handles?.exe as string | undefined) ?? plan?.target.exe;
  const exeSha256 = (handles?.exeSha256 as string | undefined) ?? plan?.target.sha256;
  const name = exe?.slice(exe.lastIndexOf("/") + 1);
  const process: Record<string, unknown> = {
    ...(childPid !== undefined ? { pid: childPid } : {}),
    ...(name ? { name } : { name: "unknown" }),
    ...(plan ? { cmd_line: plan.target.argv.join(" ") } : {}),
    ...(exe
      ? {
        file: {
          name,
          path: exe,
          type_id: FILE_TYPE_REGULAR,
          ...(exeSha256 ? { hashes: [{ algorithm_id: SHA256, value: exeSha256 }] } : {}),
        },
      }
      : {}),
  };
  const actor = {
    process: {
      pid: started?.pid,
      name: "charter",
      ...(started ? { user: { uid: String(started.uid) } } : {}),
    },
    app_name: "charter",
  };
  const event = (
    r: TranscriptRecord,
    activity: number,
    extra: Record<string, unknown>,
  ): OcsfEvent => ({
    activity_id: activity,
    activity_name: activity === LAUNCH ? "Launch" : "Terminate",
    category_uid: 1,
    category_name: "System Activity",
    class_uid: CLASS_UID,
    class_name: "Process Activity",
    type_uid: CLASS_UID * 100 + activity,
    severity_id: SEVERITY_INFORMATIONAL,
    status_id: STATUS_SUCCESS,
    time: Date.parse(r.time),
    message: r.event,
    metadata: {
      version: OCSF_VERSION,
      product: { name: COMPILER.name, vendor_name: COMPILER.name, version: COMPILER.version },
      correlation_uid: r.launchId,
      sequence: r.seq,
      uid: `${r.launchId}:${r.seq}`,
      log_name: "charter transcript",
    },
    actor,
    device: { type_id: 0, type: "Unknown" },
    process,
    unmapped: { charter: r },
    ...extra,
  });
  const out: OcsfEvent[] = [];
  for (const r of records) {
    if (r.event === "child_created" || r.event === "exec_succeeded") out.push(event(r, LAUNCH, {}));
    if (r.event === "setup_refused") {
      out.push(event(r, LAUNCH, {
        status_id: STATUS_FAILURE,
        status_detail: `${r.reason}: ${r.detail}`,
        disposition_id: DISPOSITION_BLOCKED,
        disposition: "Blocked",
        severity_id: SEVERITY_MEDIUM,
      }));
    }
    if (r.event === "setup_faulted") {
      out.push(event(r, LAUNCH, {
        status_id: STATUS_FAILURE,
        status_detail: `${r.step} failed (errno ${r.errno}): ${r.detail}`,
        severity_id: SEVERITY_MEDIUM,
      }));
    }
    if (r.event === "child_exited") {
      const code = r.code !== undefined ? r.code as number : 128 + (r.signal as number);
      out.push(
        event(r, TERMINATE, {
          exit_code: code,
          ...(r.signal !== undefined ? { status_detail: `killed by signal ${r.signal}` } : {}),
        }),
      );
    }
  }
  return out;
}
