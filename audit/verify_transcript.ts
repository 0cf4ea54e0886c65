/**
 * Verifying a launch transcript against its plan: the hash chain, sequence numbers, one
 * launch id, the event state machine, and the digests the shim measured.
 *
 * @module
 */
import { sha256Hex } from "../crypto/digest.ts";
import { splitTranscript, type TranscriptRecord } from "./transcript_record.ts";

/** A rule a transcript broke, on a given line. */
export interface TranscriptProblem {
  /** 1-based line; 0 for the transcript as a whole. */
  line: number;
  /** Which rule: `json`, `fields`, `chain`, `seq`, `launch_id`, `order`, `digest`, `incomplete`. */
  rule: string;
  /** What is wrong. */
  message: string;
}

/** The result of verifying a transcript. */
export interface TranscriptReport {
  /** True when no rule was broken. */
  ok: boolean;
  /** Every problem found. */
  problems: TranscriptProblem[];
  /** How the launch ended: exit code or signal, a refusal or a fault; undefined if unknown. */
  outcome?: string;
  /** Number of records. */
  records: number;
}

/** What the transcript is checked against: the plan's payload bytes and its target digest. */
export interface PlanFacts {
  /** The exact DSSE payload bytes of the plan. */
  payload: Uint8Array;
  /** The target executable's sha256 from the plan. */
  exeSha256: string;
}

/**
 * The allowed successors of each state. A state is an event name, with phase_resolved
 * split by phase so the five phases must come in order exactly once.
 */
const NEXT: Record<string, string[]> = {
  start: ["launcher_started"],
  launcher_started: ["plan_verified", "setup_refused"],
  plan_verified: ["handles_verified", "setup_refused"],
  handles_verified: ["child_created", "setup_refused"],
  child_created: ["phase_resolved:1", "setup_faulted"],
  "phase_resolved:1": ["phase_resolved:2", "setup_faulted"],
  "phase_resolved:2": ["phase_resolved:3", "setup_faulted"],
  "phase_resolved:3": ["phase_resolved:4", "setup_faulted"],
  "phase_resolved:4": ["phase_resolved:5", "setup_faulted"],
  "phase_resolved:5": ["ready_to_exec", "setup_faulted"],
  ready_to_exec: ["exec_succeeded", "setup_faulted"],
  exec_succeeded: ["child_exited"],
  setup_faulted: ["child_exited"],
  setup_refused: [],
  child_exited: [],
};

const TERMINAL = new Set(["setup_refused", "child_exited"]);
const HEX64 = /^[0-9a-f]{64}$/;
const LAUNCH_ID = /^[0-9a-f]{32}$/;

function stateOf(record: TranscriptRecord): string {
  return record.event === "phase_resolved"
    ? `phase_resolved:${record.phase}`
    : String(record.event);
}

function outcomeOf(record: TranscriptRecord): string | undefined {
  if (record.event === "setup_refused") return `refused: ${record.reason}`;
  if (record.event === "child_exited") {
    return record.signal !== undefined
      ? `killed by signal ${record.signal}`
      : `exited with code ${record.code}`;
  }
  return undefined;
}

/**
 * Verifies transcript bytes against the plan they claim to have launched.
 *
 * @example
 * ```ts ignore
 * import { verifyTranscript } from "./verify_transcript.ts";
 * const report = await verifyTranscript(await Deno.readFile("t.jsonl"), { payload, exeSha256 });
 * if (!report.ok) console.error(report.problems);
 * ```
 */
export async function verifyTranscript(
  bytes: Uint8Array,
  plan: PlanFacts,
): Promise<TranscriptReport> {
  const problems: TranscriptProblem[] = [];
  const report = (line: number, rule: string, message: string) =>
    problems.push({ line, rule, message });
  const planSha256 = await sha256Hex(plan.payload);
  const lines = splitTranscript(bytes);
  let state = "start";
  let launchId: string | undefined;
  let prev = planSha256;
  let outcome: string | undefined;

  for (const { line, bytes: lineBytes, record } of lines) {
    const expectedPrev = prev;
    prev = await sha256Hex(lineBytes);
    if ("error" in record) {
      report(line, "json", `the line is ${record.error}`);
      continue;
    }
    if (
      record.v !== 1 || typeof record.event !== "string" || typeof record.time !== "string" ||
      !Number.isInteger(record.monoNs)
    ) {
      report(line, "fields", "the record lacks v: 1, event, time or monoNs");
    }
    if (record.prev !== expectedPrev) {
      report(
        line,
        "chain",
        `prev is ${record.prev}, expected ${expectedPrev} (${
          line === 1 ? "the plan payload's sha256" : "the sha256 of the previous line"
        })`,
      );
    }
    if (record.seq !== line - 1) {
      report(line, "seq", `seq is ${record.seq}, expected ${line - 1}`);
    }
    if (typeof record.launchId !== "string" || !LAUNCH_ID.test(record.launchId)) {
      report(line, "launch_id", "launchId is not 128-bit lowercase hex");
    } else if (launchId === undefined) {
      launchId = record.launchId;
    } else if (record.launchId !== launchId) {
      report(
        line,
        "launch_id",
        `launchId ${record.launchId} differs from ${launchId}`,
      );
    }
    const next = stateOf(record);
    if (!(NEXT[state] ?? []).includes(next)) {
      report(
        line,
        "order",
        `${next} cannot follow ${state}${TERMINAL.has(state) ? " (the launch had ended)" : ""}`,
      );
    }
    state = next;
    if (record.event === "plan_verified" && record.planSha256 !== planSha256) {
      report(
        line,
        "digest",
        `planSha256 ${record.planSha256} is not the plan's payload digest ${planSha256}`,
      );
    }
    if (
      record.event === "handles_verified" &&
      (typeof record.exeSha256 !== "string" || !HEX64.test(record.exeSha256) ||
        record.exeSha256 !== plan.exeSha256)
    ) {
      report(
        line,
        "digest",
        `exeSha256 ${record.exeSha256} is not the plan's target digest ${plan.exeSha256}`,
      );
    }
    outcome = outcomeOf(record) ?? outcome;
  }
  if (lines.length === 0) report(0, "incomplete", "the transcript is empty");
  else if (!TERMINAL.has(state)) {
    report(0, "incomplete", `the transcript ends after ${state}, before the launch ended`);
  }
  return { ok: problems.length === 0, problems, outcome, records: lines.length };
}
