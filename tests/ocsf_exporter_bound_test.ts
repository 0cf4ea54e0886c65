/**
 * The streaming OCSF exporter keeps a bounded set of launches' facts: a stream of launches
 * that never end (or never seal) cannot grow its memory without limit.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ocsfExporter } from "../audit/ocsf.ts";
import type { TranscriptRecord } from "../audit/transcript_record.ts";
import { MAX_OPEN_LAUNCHES } from "../audit/verify_transcript.ts";

const TIME = "2026-11-30T00:00:00Z";

function record(launchId: string, event: string, fields: Record<string, unknown> = {}) {
  return { v: 1, launchId, seq: 0, prev: "", time: TIME, monoNs: 0, event, ...fields } as
    & TranscriptRecord
    & Record<string, unknown>;
}

function launcherPid(events: ReturnType<ReturnType<typeof ocsfExporter>>): unknown {
  return (events[0] as { actor: { process: { pid?: number } } }).actor.process.pid;
}

Deno.test("ocsf exporter: the facts of the oldest open launch are forgotten past the bound", () => {
  const exportRecord = ocsfExporter({ hostname: "h" });
  const started = (id: string) =>
    exportRecord(record(id, "launcher_started", { pid: 7, uid: 0, gid: 0 }));
  started("first");
  for (let i = 0; i < MAX_OPEN_LAUNCHES; i++) started(`other-${i}`);
  // The last one opened still has its facts; the first one no longer does.
  assert.equal(
    launcherPid(
      exportRecord(
        record(`other-${MAX_OPEN_LAUNCHES - 1}`, "setup_refused", {
          reason: "signature_invalid",
          detail: "x",
        }),
      ),
    ),
    7,
  );
  assert.equal(
    launcherPid(
      exportRecord(record("first", "setup_refused", { reason: "signature_invalid", detail: "x" })),
    ),
    undefined,
  );
});

Deno.test("ocsf exporter: an ended unsealed launch's facts are dropped, not kept for a seal", () => {
  const exportRecord = ocsfExporter({ hostname: "h" });
  exportRecord(record("a", "launcher_started", { pid: 7, uid: 0, gid: 0 }));
  exportRecord(record("a", "setup_refused", { reason: "signature_invalid", detail: "x" }));
  // Past the bound, a launch that ended does not count: "b" keeps its facts although
  // MAX_OPEN_LAUNCHES launches were started after "a" ended.
  exportRecord(record("b", "launcher_started", { pid: 8, uid: 0, gid: 0 }));
  for (let i = 0; i < MAX_OPEN_LAUNCHES - 1; i++) {
    exportRecord(record(`c-${i}`, "launcher_started", { pid: 9, uid: 0, gid: 0 }));
    exportRecord(record(`c-${i}`, "setup_refused", { reason: "signature_invalid", detail: "x" }));
  }
  assert.equal(
    launcherPid(
      exportRecord(record("b", "setup_refused", { reason: "signature_invalid", detail: "x" })),
    ),
    8,
  );
});
