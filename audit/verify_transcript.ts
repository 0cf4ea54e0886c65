/**
 * Verifying a launch transcript against its plan: the hash chain, sequence numbers, one
 * launch id, the event state machine, and the digests the shim measured.
 *
 * @module
 */
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { PHASES } from "../compiler/plan.ts";
import { sha256Hex } from "../crypto/digest.ts";
import type { TrustedKey } from "../crypto/keys.ts";
import { type LauncherIds, phaseDetailProblems } from "./phase_details.ts";
import { recordProblems } from "./transcript_schema.ts";
import { checkSeal } from "./verify_seal.ts";
import {
  splitTranscript,
  type TranscriptLine,
  type TranscriptRecord,
} from "./transcript_record.ts";

/** A rule a transcript broke, on a given line. */
export interface TranscriptProblem {
  /** 1-based line; 0 for the transcript as a whole. */
  line: number;
  /**
   * Which rule: `json`, `fields`, `time`, `chain`, `seq`, `launch_id`, `order`, `digest`,
   * `details`, `signer`, `seal`, `incomplete`.
   */
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
  /** The seal's state: absent, present (signature not checked) or verified by a key. */
  seal: "absent" | "unchecked" | { signer: string };
}

/** What the transcript is checked against. */
export interface PlanFacts {
  /** The exact DSSE payload bytes of the plan. */
  payload: Uint8Array;
  /** The plan body those bytes carry. */
  plan: LinuxLaunchPlan;
  /** When given, `plan_verified.keyid` must be one of these. */
  trustedKeyIds?: string[];
  /** Keys a seal may be signed with; without them a seal's signature is not checked. */
  sealKeys?: TrustedKey[];
  /**
   * A transcript without a seal, or with a seal no key in `sealKeys` can check, is a
   * problem: its last line is otherwise unprotected, and anyone can seal with a key of
   * their own.
   */
  requireSeal?: boolean;
}

/** Problems with one record's own fields (not its place in the chain). */
function fieldProblems(record: TranscriptRecord): string[] {
  const found = recordProblems(record);
  const phase = record.phase as number;
  if (
    record.event === "phase_resolved" && found.length === 0 && record.name !== PHASES[phase - 1]
  ) {
    found.push(
      `phase ${phase} is named ${JSON.stringify(record.name)}, expected ${PHASES[phase - 1]}`,
    );
  }
  return found;
}

/**
 * The allowed successors of each state. A state is an event name, with phase_resolved
 * split by phase so the five phases must come in order exactly once.
 */
const NEXT: Record<string, string[]> = {
  start: ["launcher_started"],
  launcher_started: ["plan_verified", "setup_refused", "setup_faulted"],
  plan_verified: ["handles_verified", "setup_refused", "setup_faulted"],
  handles_verified: ["child_created", "setup_refused", "setup_faulted"],
  child_created: ["phase_resolved:1", "setup_faulted"],
  "phase_resolved:1": ["phase_resolved:2", "setup_faulted"],
  "phase_resolved:2": ["phase_resolved:3", "setup_faulted"],
  "phase_resolved:3": ["phase_resolved:4", "setup_faulted"],
  "phase_resolved:4": ["phase_resolved:5", "setup_faulted"],
  "phase_resolved:5": ["ready_to_exec", "setup_faulted"],
  ready_to_exec: ["exec_succeeded", "setup_faulted"],
  exec_succeeded: ["child_exited"],
  // A fault after the child exists is followed by its exit; before, it ends the launch.
  setup_faulted: ["child_exited", "transcript_sealed"],
  setup_refused: ["transcript_sealed"],
  child_exited: ["transcript_sealed"],
  transcript_sealed: [],
};

const TERMINAL = new Set(["setup_refused", "child_exited", "transcript_sealed"]);
const HEX64 = /^[0-9a-f]{64}$/;
const LAUNCH_ID = /^[0-9a-f]{32}$/;

function stateOf(record: TranscriptRecord): string {
  return record.event === "phase_resolved"
    ? `phase_resolved:${record.phase}`
    : String(record.event);
}

/** The fields of the last outcome-bearing record, as a seal states them. */
type Outcome = Record<string, unknown>;

const OUTCOME_EVENTS = ["child_exited", "setup_refused", "setup_faulted"];

function outcomeFields(record: TranscriptRecord): Outcome {
  return Object.fromEntries(
    ["event", "code", "signal", "reason", "step", "errno"]
      .filter((k) => record[k] !== undefined)
      .map((k) => [k, record[k]]),
  );
}

/** How the launch ended, in words. */
function describeOutcome(o: Outcome): string | undefined {
  if (o.event === "setup_refused") return `refused: ${o.reason}`;
  if (o.event === "setup_faulted") return `setup failed at ${o.step} (errno ${o.errno})`;
  if (o.event === "child_exited") {
    return o.signal !== undefined ? `killed by signal ${o.signal}` : `exited with code ${o.code}`;
  }
  return undefined;
}

/**
 * Verifies transcript bytes against the plan they claim to have launched.
 *
 * @example
 * ```ts ignore
 * import { verifyTranscript } from "./verify_transcript.ts";
 * const report = await verifyTranscript(await Deno.readFile("t.jsonl"), { payload, plan });
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
  const { target } = plan.plan;
  let launcher: LauncherIds | undefined;
  let lastMono = -Infinity;
  const lines = splitTranscript(bytes);
  let state = "start";
  let launchId: string | undefined;
  let prev = planSha256;
  let outcome: Outcome = {};
  let childCreated = false;
  let seal: TranscriptReport["seal"] = "absent";

  for (const { line, offset, bytes: lineBytes, record } of lines) {
    const expectedPrev = prev;
    prev = await sha256Hex(lineBytes);
    if ("error" in record) {
      report(line, "json", `the line is ${record.error}`);
      continue;
    }
    const found = fieldProblems(record);
    for (const message of found) report(line, "fields", message);
    if ((record.monoNs as number) < lastMono) report(line, "time", "monoNs went backwards");
    lastMono = record.monoNs as number;
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
    } else if (state === "setup_faulted" && (next === "child_exited") !== childCreated) {
      report(
        line,
        "order",
        childCreated
          ? `${next} cannot come before the child's exit`
          : "child_exited without a child",
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
      record.event === "plan_verified" && plan.trustedKeyIds &&
      !plan.trustedKeyIds.includes(String(record.keyid))
    ) {
      report(
        line,
        "signer",
        `the plan was verified with ${record.keyid}, which is not a trusted key`,
      );
    }
    if (record.event === "handles_verified") {
      if (!HEX64.test(String(record.exeSha256)) || record.exeSha256 !== target.sha256) {
        report(
          line,
          "digest",
          `exeSha256 ${record.exeSha256} is not the plan's target digest ${target.sha256}`,
        );
      }
      if (record.exe !== target.exe) {
        report(line, "digest", `exe ${record.exe} is not the plan's target ${target.exe}`);
      }
      const interpreters = JSON.stringify(record.interpreters ?? []);
      if (interpreters !== JSON.stringify(target.interpreters ?? [])) {
        report(line, "digest", "the interpreters verified are not the plan's target.interpreters");
      }
      const opened = (record.inputs ?? []) as { path?: unknown; sha256?: unknown }[];
      const expected = target.inputs ?? [];
      const same = opened.length === expected.length &&
        expected.every((input, i) =>
          opened[i].path === input.path && opened[i].sha256 === input.sha256
        );
      if (!same) {
        report(
          line,
          "digest",
          "the inputs opened are not the plan's target.inputs with their digests",
        );
      }
    }
    if (record.event === "launcher_started") {
      launcher = { uid: record.uid as number, gid: record.gid as number };
    }
    if (record.event === "phase_resolved" && launcher && found.length === 0) {
      const phase = record as unknown as Parameters<typeof phaseDetailProblems>[0];
      for (const message of phaseDetailProblems(phase, plan.plan, launcher)) {
        report(line, "details", `phase ${record.phase}: ${message}`);
      }
    }
    if (record.event === "child_created") childCreated = true;
    if (OUTCOME_EVENTS.includes(record.event)) outcome = outcomeFields(record);
    if (record.event === "transcript_sealed") {
      const check = await checkSeal(record.seal, {
        launchId: String(record.launchId),
        planSha256,
        before: bytes.subarray(0, offset),
        records: line - 1,
        head: expectedPrev,
        outcome,
        sealedAt: { time: record.time, monoNs: record.monoNs },
        keys: plan.sealKeys,
      });
      for (const message of check.problems) report(line, "seal", message);
      seal = check.signer ? { signer: check.signer } : "unchecked";
    }
  }
  // A fault before the child existed ends the launch; after, the child's exit must follow.
  if (state === "setup_faulted" && childCreated) {
    report(0, "incomplete", "the transcript ends after setup_faulted, before the child's exit");
  }
  if (plan.requireSeal && seal === "absent") {
    report(
      0,
      "seal",
      "the transcript has no seal: nothing protects its last line (--allow-unsealed accepts that)",
    );
  } else if (plan.requireSeal && seal === "unchecked") {
    report(
      0,
      "seal",
      "the seal cannot be checked: no seal key was given, and this host has none (--seal-key)",
    );
  }
  if (lines.length === 0) report(0, "incomplete", "the transcript is empty");
  else if (!TERMINAL.has(state) && !(state === "setup_faulted" && !childCreated)) {
    report(0, "incomplete", `the transcript ends after ${state}, before the launch ended`);
  }
  return {
    ok: problems.length === 0,
    problems,
    outcome: describeOutcome(outcome),
    records: lines.length,
    seal,
  };
}

/** One launch found in a transcript file, and its report. */
export interface LaunchReport extends TranscriptReport {
  /** The launch id of its records; undefined for lines that belong to no launch. */
  launchId?: string;
  /** The 1-based line of the file where the launch starts. */
  firstLine: number;
}

const LF = new Uint8Array([0x0a]);

/**
 * Verifies a transcript file that may hold several launches, also interleaved (parallel
 * launches append to one file, each record in one write): records are grouped by their
 * `launchId`, and each launch is verified on its own against the plan, with line numbers
 * of the whole file. Lines that belong to no launch (not JSON, no launch id) are reported
 * as a report of their own. With `launchId`, only that launch is verified.
 *
 * @example
 * ```ts ignore
 * import { verifyTranscriptFile } from "./verify_transcript.ts";
 * for (const launch of await verifyTranscriptFile(bytes, facts)) console.log(launch.ok);
 * ```
 */
export async function verifyTranscriptFile(
  bytes: Uint8Array,
  plan: PlanFacts,
  launchId?: string,
): Promise<LaunchReport[]> {
  const launches = new Map<string, TranscriptLine[]>();
  const stray: TranscriptLine[] = [];
  for (const line of splitTranscript(bytes)) {
    const id = "error" in line.record ? undefined : line.record.launchId;
    if (typeof id !== "string") stray.push(line);
    else if (launches.has(id)) launches.get(id)!.push(line);
    else launches.set(id, [line]);
  }
  const reports: LaunchReport[] = [];
  for (const [id, lines] of launches) {
    if (launchId !== undefined && id !== launchId) continue;
    // The launch's own lines, as the shim wrote them: what its chain and seal cover.
    const own = new Uint8Array(lines.reduce((n, l) => n + l.bytes.length + 1, 0));
    let at = 0;
    for (const l of lines) {
      own.set(l.bytes, at);
      own.set(LF, at + l.bytes.length);
      at += l.bytes.length + 1;
    }
    const report = await verifyTranscript(own, plan);
    reports.push({
      ...report,
      problems: report.problems.map((p) => ({
        ...p,
        line: p.line === 0 ? 0 : lines[p.line - 1].line,
      })),
      launchId: id,
      firstLine: lines[0].line,
    });
  }
  if (launchId === undefined && stray.length > 0) {
    reports.push({
      ok: false,
      problems: stray.map(({ line, record }) => ({
        line,
        rule: "error" in record ? "json" : "launch_id",
        message: "error" in record
          ? `the line is ${record.error}`
          : "the record has no launchId, so it belongs to no launch",
      })),
      records: stray.length,
      seal: "absent",
      firstLine: stray[0].line,
    });
  }
  return reports.sort((a, b) => a.firstLine - b.firstLine);
}
