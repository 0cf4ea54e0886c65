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
import { seccompDeniedProblem } from "./seccomp_denied.ts";
import { recordProblems } from "./transcript_schema.ts";
import { checkSeal } from "./verify_seal.ts";
import {
  readTranscriptLines,
  splitTranscript,
  type TranscriptLine,
  type TranscriptRecord,
} from "./transcript_record.ts";
import { createHash } from "node:crypto";

/** A rule a transcript broke, on a given line. */
export interface TranscriptProblem {
  /** 1-based line; 0 for the transcript as a whole. */
  line: number;
  /**
   * Which rule: `json`, `fields`, `time`, `chain`, `seq`, `launch_id`, `order`, `digest`,
   * `details`, `signer`, `seal`, `incomplete`, `rate`.
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
  // Denials the kernel reported while the target ran.
  exec_succeeded: ["denied", "child_exited"],
  denied: ["denied", "child_exited"],
  // A fault after the child exists is followed by its exit; before, it ends the launch.
  setup_faulted: ["child_exited", "transcript_sealed"],
  setup_refused: ["transcript_sealed"],
  child_exited: ["transcript_sealed"],
  transcript_sealed: [],
};

/**
 * The most `denied` records one launch may carry: a producer counts repeats (`count`)
 * instead of writing a record per denial, so a target cannot flood the transcript.
 */
export const MAX_DENIED_RECORDS = 100;

/**
 * The longest `what` a `denied` record may have: the shim cuts a Landlock object at 160
 * bytes after the kernel's names of the denied rights, and writes no control characters nor
 * Unicode's invisible format ones (a forged one could move a terminal's cursor or reorder a
 * line where a record is shown).
 */
const DENIED_WHAT_MAX = 1024;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;

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
 * Verifies the records of one launch as they arrive: memory is what one launch's state
 * takes (its problems, an incremental digest), never its records.
 */
class LaunchVerifier {
  readonly #plan: PlanFacts;
  readonly #planSha256: string;
  readonly #problems: TranscriptProblem[] = [];
  /** Every byte of the launch's own lines so far: what a seal covers. */
  readonly #written = createHash("sha256");
  #launcher: LauncherIds | undefined;
  #lastMono = -Infinity;
  #state = "start";
  #launchId: string | undefined;
  #prev: string;
  #outcome: Outcome = {};
  #childCreated = false;
  #seal: TranscriptReport["seal"] = "absent";
  #records = 0;
  #denied = 0;
  /** Phase 4 said the shim records the seccomp filter's denials. */
  #seccompRecorded = false;
  /** Phase 4 said the shim records Landlock's denials (from the audit stream). */
  #landlockRecorded = false;

  constructor(plan: PlanFacts, planSha256: string) {
    this.#plan = plan;
    this.#planSha256 = planSha256;
    this.#prev = planSha256;
  }

  /** True once the launch is sealed: nothing may follow. */
  get sealed(): boolean {
    return this.#state === "transcript_sealed";
  }

  #report(line: number, rule: string, message: string) {
    this.#problems.push({ line, rule, message });
  }

  /** Checks the launch's next line; `line` is where it is in the file, for reports. */
  async push({ line, bytes: lineBytes, record }: TranscriptLine): Promise<void> {
    const report = (rule: string, message: string) => this.#report(line, rule, message);
    const plan = this.#plan;
    const planSha256 = this.#planSha256;
    const { target } = plan.plan;
    const index = ++this.#records;
    const expectedPrev = this.#prev;
    this.#prev = createHash("sha256").update(lineBytes).digest("hex");
    // What a seal covers: every byte before its own line (digested only for a seal).
    const sealed = !("error" in record) && record.event === "transcript_sealed";
    const before = sealed ? this.#written.copy().digest("hex") : "";
    this.#written.update(lineBytes).update(LF);
    if ("error" in record) {
      report("json", `the line is ${record.error}`);
      return;
    }
    const found = fieldProblems(record);
    for (const message of found) report("fields", message);
    if ((record.monoNs as number) < this.#lastMono) report("time", "monoNs went backwards");
    this.#lastMono = record.monoNs as number;
    if (record.prev !== expectedPrev) {
      report(
        "chain",
        `prev is ${record.prev}, expected ${expectedPrev} (${
          index === 1 ? "the plan payload's sha256" : "the sha256 of the previous line"
        })`,
      );
    }
    if (record.seq !== index - 1) report("seq", `seq is ${record.seq}, expected ${index - 1}`);
    if (typeof record.launchId !== "string" || !LAUNCH_ID.test(record.launchId)) {
      report("launch_id", "launchId is not 128-bit lowercase hex");
    } else if (this.#launchId === undefined) {
      this.#launchId = record.launchId;
    } else if (record.launchId !== this.#launchId) {
      report("launch_id", `launchId ${record.launchId} differs from ${this.#launchId}`);
    }
    const state = this.#state;
    const next = stateOf(record);
    if (!(NEXT[state] ?? []).includes(next)) {
      report(
        "order",
        `${next} cannot follow ${state}${TERMINAL.has(state) ? " (the launch had ended)" : ""}`,
      );
    } else if (state === "setup_faulted" && (next === "child_exited") !== this.#childCreated) {
      report(
        "order",
        this.#childCreated
          ? `${next} cannot come before the child's exit`
          : "child_exited without a child",
      );
    }
    this.#state = next;
    if (record.event === "denied" && ++this.#denied === MAX_DENIED_RECORDS + 1) {
      report("rate", `more than ${MAX_DENIED_RECORDS} denied records (they are rate-bounded)`);
    }
    if (record.event === "denied" && record.mechanism === "seccomp" && !this.#seccompRecorded) {
      report(
        "denied",
        "a seccomp denied record, but phase 4 did not say the shim records seccomp denials",
      );
    }
    const call = record.event === "denied" && record.mechanism === "seccomp"
      ? seccompDeniedProblem(record, plan.plan)
      : undefined;
    if (call) report("denied", call);
    if (record.event === "denied" && record.mechanism === "landlock" && !this.#landlockRecorded) {
      report(
        "denied",
        "a Landlock denied record, but phase 4 did not say the shim records Landlock denials",
      );
    }
    if (
      record.event === "denied" && typeof record.what === "string" &&
      (record.what.length > DENIED_WHAT_MAX || CONTROL.test(record.what))
    ) {
      report(
        "denied",
        `a denied record's what is longer than ${DENIED_WHAT_MAX} characters or holds control or format characters, which the shim never writes`,
      );
    }
    if (record.event === "phase_resolved" && record.phase === 4) {
      const details = record.details as {
        seccomp?: { denials?: { recorded?: unknown } };
        landlock?: { denials?: unknown };
      };
      this.#seccompRecorded = details?.seccomp?.denials?.recorded === true;
      this.#landlockRecorded = details?.landlock?.denials === "recorded";
    }
    if (record.event === "plan_verified" && record.planSha256 !== planSha256) {
      report(
        "digest",
        `planSha256 ${record.planSha256} is not the plan's payload digest ${planSha256}`,
      );
    }
    if (
      record.event === "plan_verified" && plan.trustedKeyIds &&
      !plan.trustedKeyIds.includes(String(record.keyid))
    ) {
      report("signer", `the plan was verified with ${record.keyid}, which is not a trusted key`);
    }
    if (record.event === "handles_verified") {
      if (!HEX64.test(String(record.exeSha256)) || record.exeSha256 !== target.sha256) {
        report(
          "digest",
          `exeSha256 ${record.exeSha256} is not the plan's target digest ${target.sha256}`,
        );
      }
      if (record.exe !== target.exe) {
        report("digest", `exe ${record.exe} is not the plan's target ${target.exe}`);
      }
      const interpreters = JSON.stringify(record.interpreters ?? []);
      if (interpreters !== JSON.stringify(target.interpreters ?? [])) {
        report("digest", "the interpreters verified are not the plan's target.interpreters");
      }
      const opened = (record.inputs ?? []) as { path?: unknown; sha256?: unknown }[];
      const expected = target.inputs ?? [];
      const same = opened.length === expected.length &&
        expected.every((input, i) =>
          opened[i].path === input.path && opened[i].sha256 === input.sha256
        );
      if (!same) {
        report("digest", "the inputs opened are not the plan's target.inputs with their digests");
      }
    }
    if (record.event === "launcher_started") {
      this.#launcher = { uid: record.uid as number, gid: record.gid as number };
    }
    if (record.event === "phase_resolved" && this.#launcher && found.length === 0) {
      const phase = record as unknown as Parameters<typeof phaseDetailProblems>[0];
      for (const message of phaseDetailProblems(phase, plan.plan, this.#launcher)) {
        report("details", `phase ${record.phase}: ${message}`);
      }
    }
    if (record.event === "child_created") this.#childCreated = true;
    if (OUTCOME_EVENTS.includes(record.event)) this.#outcome = outcomeFields(record);
    if (record.event === "transcript_sealed") {
      const check = await checkSeal(record.seal, {
        launchId: String(record.launchId),
        planSha256,
        beforeSha256: before,
        records: index - 1,
        head: expectedPrev,
        outcome: this.#outcome,
        sealedAt: { time: record.time, monoNs: record.monoNs },
        keys: plan.sealKeys,
      });
      for (const message of check.problems) report("seal", message);
      this.#seal = check.signer ? { signer: check.signer } : "unchecked";
    }
  }

  /** The report once no more lines come. */
  finish(): TranscriptReport {
    const report = (rule: string, message: string) => this.#report(0, rule, message);
    const { requireSeal } = this.#plan;
    const state = this.#state;
    // A fault before the child existed ends the launch; after, the child's exit must follow.
    if (state === "setup_faulted" && this.#childCreated) {
      report("incomplete", "the transcript ends after setup_faulted, before the child's exit");
    }
    if (requireSeal && this.#seal === "absent") {
      report(
        "seal",
        "the transcript has no seal: nothing protects its last line (--allow-unsealed accepts that)",
      );
    } else if (requireSeal && this.#seal === "unchecked") {
      report(
        "seal",
        "the seal cannot be checked: no seal key was given, and this host has none (--seal-key)",
      );
    }
    if (this.#records === 0) report("incomplete", "the transcript is empty");
    else if (!TERMINAL.has(state) && !(state === "setup_faulted" && !this.#childCreated)) {
      report("incomplete", `the transcript ends after ${state}, before the launch ended`);
    }
    return {
      ok: this.#problems.length === 0,
      problems: this.#problems,
      outcome: describeOutcome(this.#outcome),
      records: this.#records,
      seal: this.#seal,
    };
  }
}

/**
 * Verifies transcript bytes of one launch against the plan they claim to have launched.
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
  const launch = new LaunchVerifier(plan, await sha256Hex(plan.payload));
  for (const line of splitTranscript(bytes)) await launch.push(line);
  return launch.finish();
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
 * The most launches verified at once: parallel launches appending to one file interleave
 * a few at a time; past this the idlest is finished as it stands (incomplete, unless it
 * had ended) and any later record of it is a problem.
 */
export const MAX_OPEN_LAUNCHES = 4096;

/**
 * Verifies a transcript stream that may hold several launches, also interleaved
 * (parallel launches append to one file, each record in one write), as it is read:
 * records are grouped by their `launchId` and each launch is verified on its own against
 * the plan, with line numbers of the whole stream. A launch's report is yielded when its
 * seal has been checked, the others' at the end. Memory is bounded by the launches in
 * progress at one time, never by the records: 100,000 sealed launches verify in the
 * memory of one. Lines that belong to no launch (not JSON, no launch id), and records of
 * a launch after its seal, are reported in reports of their own. With `launchId`, only
 * that launch is verified.
 *
 * @example
 * ```ts ignore
 * import { verifyTranscriptStream } from "./verify_transcript.ts";
 * using file = await Deno.open("t.jsonl");
 * for await (const launch of verifyTranscriptStream(file.readable, facts)) console.log(launch.ok);
 * ```
 */
export async function* verifyTranscriptStream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  plan: PlanFacts,
  launchId?: string,
): AsyncGenerator<LaunchReport> {
  const planSha256 = await sha256Hex(plan.payload);
  const open = new Map<string, { verifier: LaunchVerifier; firstLine: number }>();
  // Launches done, with why: a record of one after that is a problem of its own.
  const closed = new Map<string, string>();
  const evicted = `it was closed (more than ${MAX_OPEN_LAUNCHES} launches open at once)`;
  const stray: TranscriptProblem[] = [];
  let firstStray = 0;
  for await (const line of readTranscriptLines(chunks)) {
    const id = "error" in line.record ? undefined : line.record.launchId;
    if (typeof id !== "string") {
      const { record } = line;
      firstStray ||= line.line;
      stray.push({
        line: line.line,
        rule: "error" in record ? "json" : "launch_id",
        message: "error" in record
          ? `the line is ${record.error}`
          : "the record has no launchId, so it belongs to no launch",
      });
      continue;
    }
    if (launchId !== undefined && id !== launchId) continue;
    const ended = closed.get(id);
    if (ended) {
      yield {
        ok: false,
        problems: [{
          line: line.line,
          rule: "order",
          message: `a record of launch ${id} after ${ended}`,
        }],
        records: 1,
        seal: "absent",
        launchId: id,
        firstLine: line.line,
      };
      continue;
    }
    let launch = open.get(id);
    if (!launch) {
      launch = { verifier: new LaunchVerifier(plan, planSha256), firstLine: line.line };
    }
    // Most recently active last: the launch closed when too many are open is the idlest.
    open.delete(id);
    open.set(id, launch);
    await launch.verifier.push(line);
    if (launch.verifier.sealed) {
      open.delete(id);
      // Ids of sealed launches are kept (16 bytes of hex each) to catch records after a seal.
      closed.set(id, "its seal");
      yield { ...launch.verifier.finish(), launchId: id, firstLine: launch.firstLine };
    } else if (open.size > MAX_OPEN_LAUNCHES) {
      // A file of lines that each start a launch and never end it (a forger's, or many
      // unsealed launches) must not hold a verifier per line until the end of the stream.
      const [idlest, oldest] = open.entries().next().value!;
      open.delete(idlest);
      closed.set(idlest, evicted);
      yield { ...oldest.verifier.finish(), launchId: idlest, firstLine: oldest.firstLine };
    }
  }
  for (const [id, launch] of open) {
    yield { ...launch.verifier.finish(), launchId: id, firstLine: launch.firstLine };
  }
  if (launchId === undefined && stray.length > 0) {
    yield {
      ok: false,
      problems: stray,
      records: stray.length,
      seal: "absent",
      firstLine: firstStray,
    };
  }
}

/**
 * Verifies transcript bytes in memory that may hold several launches (see
 * {@linkcode verifyTranscriptStream}); the reports come in the order the launches start.
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
  const reports: LaunchReport[] = [];
  for await (const report of verifyTranscriptStream([bytes], plan, launchId)) {
    reports.push(report);
  }
  return reports.sort((a, b) => a.firstLine - b.firstLine);
}
