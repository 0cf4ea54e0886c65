/**
 * `charter transcript verify`: check a transcript against its plan, without the shim.
 *
 * @module
 */
import { readPlan } from "../audit/verify_plan.ts";
import { verifyTranscriptStream } from "../audit/verify_transcript.ts";
import { readTrustedKeys } from "../crypto/keys.ts";
import { listFlag, parseCommand, stringFlag, UsageError } from "./args.ts";
import { hostSealPublicKeyPath } from "./seal_key.ts";
import { type Command, printError } from "./command.ts";
import { readInputFile } from "./input_file.ts";
import { OCSF_VERSION, OCSF_VERSIONS, ocsfExporter, type OcsfVersion } from "../audit/ocsf.ts";
import { readTranscriptLines, type TranscriptRecord } from "../audit/transcript_record.ts";
import { recordProblems } from "../audit/transcript_schema.ts";

/** The transcript verify command. */
export const transcriptVerifyCommand: Command = {
  name: "transcript verify",
  help: `Usage: charter transcript verify TRANSCRIPT.jsonl --plan plan.dsse.json [--trust PUB...]

Checks the hash chain (record 0 chains to the plan payload's sha256), seq, the order of
events, the digests the shim measured and every phase_resolved detail against the plan,
and the seal. A file may hold several launches, also interleaved: each launchId is
verified on its own. With --trust, the plan's signature is verified too. Prints one line
per problem; exit 1 if any.

A transcript must be sealed, and the seal must verify with --seal-key or, by default,
with this host's seal key (STATE/seal.pub; STATE is /var/lib/charter for root, else
$XDG_STATE_HOME/charter or ~/.local/state/charter): without a checked seal, anyone could
have rewritten the transcript's end.

Options:
  --plan FILE         the plan the transcript claims to have launched (required)
    --trust FILE|DIR    verify the plan's signature with these public keys; repeatable
  --seal-key FILE|DIR verify the seal with these public keys instead of the host's
                      (the launcher's --transcript-key); repeatable
    --launch-id ID      verify only this launch of a file that holds several
  --allow-unsealed    accept a transcript without a (checked) seal: its last line is
                      then protected only by whoever received it
  --require-seal      the default; kept for existing scripts
  -h, --help          show this help`,
  async run(argv) {
    const args = parseCommand(argv, {
      plan: { type: "string" },
      trust: { type: "string", multiple: true },
      "seal-key": { type: "string", multiple: true },
      "require-seal": { type: "boolean" },
      "allow-unsealed": { type: "boolean" },
      "launch-id": { type: "string" },
    });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 1) {
      throw new UsageError("transcript verify takes one transcript file; see --help");
    }
    const trustPaths = listFlag(args.values, "trust");
    const allowUnsealed = args.values["allow-unsealed"] === true;
    if (allowUnsealed && args.values["require-seal"] === true) {
      throw new UsageError("give --allow-unsealed or --require-seal, not both");
    }
    const hostSeal = hostSealPublicKeyPath();
    const sealPaths = listFlag(args.values, "seal-key");
    if (sealPaths.length === 0 && hostSeal) sealPaths.push(hostSeal);
    const trusted = trustPaths.length > 0 ? await readTrustedKeys(trustPaths) : undefined;
    const plan = await readPlan(
      readInputFile(stringFlag(args.values, "plan", true)!),
      trusted,
    );
    const file = args.positionals[0];
    const launchId = stringFlag(args.values, "launch-id");
    const facts = {
      payload: plan.payload,
      plan: plan.statement.predicate,
      trustedKeyIds: trusted?.map((k) => k.keyid),
      ...(sealPaths.length > 0 ? { sealKeys: await readTrustedKeys(sealPaths) } : {}),
      requireSeal: !allowUnsealed,
    };
    const signed = plan.verifiedBy
      ? `signed by ${plan.verifiedBy.keyid}`
      : "signature not checked (no --trust)";
    // Streamed: memory holds the launches in progress, not the file.
    using transcript = await Deno.open(file);
    let launches = 0;
    let allOk = true;
    for await (const report of verifyTranscriptStream(transcript.readable, facts, launchId)) {
      launches++;
      allOk &&= report.ok;
      for (const p of report.problems) console.error(`${file}:${p.line}: ${p.rule}: ${p.message}`);
      if (!report.ok) continue;
      const seal = report.seal === "absent"
        ? "not sealed"
        : report.seal === "unchecked"
        ? "sealed (seal signature not checked: no --seal-key)"
        : `sealed by ${report.seal.signer}`;
      console.log(
        `${file}:${report.firstLine}: launch ${report.launchId}: ok, ${report.records} records, ${report.outcome}; plan ${signed}; ${seal}`,
      );
    }
    if (launches === 0) {
      console.error(`${file}: no launch ${launchId} in this transcript`);
      return 1;
    }
    return allOk ? 0 : 1;
  },
};

/** The transcript export command. */
export const transcriptExportCommand: Command = {
  name: "transcript export",
  help: `Usage: charter transcript export --format ocsf TRANSCRIPT.jsonl [--plan plan.dsse.json]

Writes one OCSF Process Activity event (class_uid 1007) per line, one Launch and one
Terminate per process: Launch (100701) for exec_succeeded (action Allowed), or Launch with
status Failure for the refusal (action Denied, disposition Blocked, status_code the
refusal code) or setup fault (disposition Error, status_code the step) that stopped the
launch; Terminate (100702) for child_exited, with exit_code when the process exited and
the signal in status_detail when one killed it. metadata.correlation_uid is the launchId,
metadata.sequence the seq, unmapped.charter the record. Export does not verify: run
"transcript verify" for that.

Options:
  --format ocsf          the output format (required; ocsf is the only one)
  --ocsf-version V       the OCSF schema version: ${
    OCSF_VERSIONS.join(" or ")
  } (default ${OCSF_VERSION})
  --plan FILE            the launched plan, for the command line and the child's user
  --hostname NAME        the host the launches ran on (default: this machine's hostname)
  -h, --help             show this help`,
  async run(argv) {
    const args = parseCommand(argv, {
      format: { type: "string" },
      "ocsf-version": { type: "string" },
      plan: { type: "string" },
      hostname: { type: "string" },
    });
    if (args.help) return console.log(this.help), 0;
    if (stringFlag(args.values, "format", true) !== "ocsf") {
      throw new UsageError("--format must be ocsf");
    }
    const version = stringFlag(args.values, "ocsf-version") ?? OCSF_VERSION;
    if (!(OCSF_VERSIONS as readonly string[]).includes(version)) {
      throw new UsageError(`--ocsf-version must be one of ${OCSF_VERSIONS.join(", ")}`);
    }
    if (args.positionals.length !== 1) {
      throw new UsageError("transcript export takes one transcript file; see --help");
    }
    const file = args.positionals[0];
    // Two streamed passes: nothing is exported from a file with a broken line, and memory
    // holds a line and the launches in progress, not the file.
    {
      using transcript = await Deno.open(file);
      for await (const { line, record } of readTranscriptLines(transcript.readable)) {
        if ("error" in record) {
          printError(`${file}:${line}: the line is ${record.error}; nothing exported`);
          return 1;
        }
        // A record the schema rejects (`"code":"x"`) would export events OCSF rejects.
        const [problem] = recordProblems(record);
        if (problem !== undefined) {
          printError(
            `${file}:${line}: the record is not one charter writes (${problem}); nothing exported`,
          );
          return 1;
        }
      }
    }
    const planPath = stringFlag(args.values, "plan");
    const plan = planPath
      ? (await readPlan(readInputFile(planPath))).statement.predicate
      : undefined;
    const exportRecord = ocsfExporter({
      plan,
      version: version as OcsfVersion,
      hostname: stringFlag(args.values, "hostname"),
    });
    using transcript = await Deno.open(file);
    for await (const { record } of readTranscriptLines(transcript.readable)) {
      for (const event of exportRecord(record as TranscriptRecord)) {
        console.log(JSON.stringify(event));
      }
    }
    return 0;
  },
};
