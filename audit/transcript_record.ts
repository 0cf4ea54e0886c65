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
  "denied",
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

/**
 * The longest line {@linkcode readTranscriptLines} holds: far above any record (a record
 * derives from a plan of at most 8 MiB), so that memory stays bounded on a stream that
 * never ends a line.
 */
export const TRANSCRIPT_LINE_MAX = 64 * 1024 * 1024;

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

/**
 * Splits a stream of transcript bytes into lines as they arrive, as
 * {@linkcode splitTranscript} does for bytes in memory: only the line being read is held.
 *
 * @example
 * ```ts ignore
 * import { readTranscriptLines } from "./transcript_record.ts";
 * using file = await Deno.open("t.jsonl");
 * for await (const line of readTranscriptLines(file.readable)) console.log(line.line);
 * ```
 */
export async function* readTranscriptLines(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<TranscriptLine> {
  let pending: Uint8Array[] = [];
  let pendingLength = 0;
  let offset = 0;
  let line = 0;
  const take = (tail: Uint8Array): Uint8Array => {
    if (pending.length === 0) return tail;
    const out = new Uint8Array(pendingLength + tail.length);
    let at = 0;
    for (const p of pending) out.set(p, at), at += p.length;
    out.set(tail, at);
    pending = [];
    pendingLength = 0;
    return out;
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(0x0a, start);
      if (end < 0) break;
      const bytes = take(chunk.slice(start, end));
      yield { line: ++line, offset, bytes, record: parseRecord(bytes) };
      offset += bytes.length + 1;
      start = end + 1;
    }
    if (start < chunk.length) {
      // The stream may reuse its buffer: keep a copy of the unfinished line.
      const rest = chunk.slice(start);
      pending.push(rest);
      pendingLength += rest.length;
      if (pendingLength > TRANSCRIPT_LINE_MAX) {
        // No record is this long (/dev/zero is one endless line): the rest is not read.
        yield {
          line: ++line,
          offset,
          bytes: new Uint8Array(),
          record: {
            error: `longer than ${TRANSCRIPT_LINE_MAX / (1024 * 1024)} MiB (not a record)`,
          },
        };
        return;
      }
    }
  }
  if (pendingLength > 0) {
    const bytes = take(new Uint8Array());
    yield {
      line: ++line,
      offset,
      bytes,
      record: { error: "the last line has no LF (truncated?)" },
    };
  }
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
