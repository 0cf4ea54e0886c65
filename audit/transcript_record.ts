/**
 * Transcript records (JSON Lines) and their parsing.
 *
 * @module
 */
import { parseStrictJson, StrictJsonError } from "./strict_json.ts";

/** The events of a launch, as DESIGN §7 names them. */
export const TRANSCRIPT_EVENTS = [
  "launcher_started",
  "plan_verified",
  "handles_verified",
  "child_created",
  "phase_resolved",
  "ready_to_exec",
  "exec_succeeded",
  "child_exited",
  "setup_refused",
  "setup_faulted",
  "transcript_sealed",
] as const;

/** The name of a transcript event. */
export type TranscriptEvent = typeof TRANSCRIPT_EVENTS[number];

/** Fields every record has, plus the event's own fields. */
export interface TranscriptRecord {
  /** Record format version, 1. */
  v: 1;
  /** 128-bit random hex id shared by every record of one launch. */
  launchId: string;
  /** 0, 1, … within the launch. */
  seq: number;
  /** RFC 3339 UTC. */
  time: string;
  /** CLOCK_MONOTONIC nanoseconds. */
  monoNs: number;
  /** What happened. */
  event: TranscriptEvent;
  /** sha256 of the previous line (record 0: of the plan payload). */
  prev: string;
  /** Event fields. */
  [field: string]: unknown;
}

/** One line of a transcript file: its exact bytes and what they parse to. */
export interface TranscriptLine {
  /** 1-based line number. */
  line: number;
  /** Where the line starts in the transcript's bytes. */
  offset: number;
  /** The line's bytes without its LF. */
  bytes: Uint8Array;
  /** The parsed record, or why it could not be parsed. */
  record: TranscriptRecord | { error: string };
}

/**
 * Splits transcript bytes into LF-terminated lines and parses each as a JSON object.
 * Exact bytes are kept: the hash chain covers them, not a re-serialisation.
 *
 * @example
 * ```ts
 * import { splitTranscript } from "./transcript_record.ts";
 * const lines = splitTranscript(new TextEncoder().encode('{"v":1}\n'));
 * console.log(lines.length); // 1
 * ```
 */
export function splitTranscript(bytes: Uint8Array): TranscriptLine[] {
  const lines: TranscriptLine[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    const terminated = end >= 0;
    if (!terminated) end = bytes.length;
    const lineBytes = bytes.subarray(start, end);
    lines.push({
      line: lines.length + 1,
      offset: start,
      bytes: lineBytes,
      record: terminated
        ? parseRecord(lineBytes)
        : { error: "the last line has no LF (truncated?)" },
    });
    start = end + 1;
  }
  return lines;
}

function parseRecord(bytes: Uint8Array): TranscriptRecord | { error: string } {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { error: "not UTF-8" };
  }
  let value: unknown;
  try {
    value = parseStrictJson(text);
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    return { error: `not strict JSON (${e.message} at column ${e.offset + 1})` };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return { error: "not a JSON object" };
  }
  return value as TranscriptRecord;
}
