/**
 * `charter learn`: run the target under the policy's identity and namespaces with a
 * recording supervisor in place of Landlock and the seccomp filter, print what the policy
 * would have denied, and write a proposed policy.
 *
 * @module
 */
import { buildStatement, canonicalJson, planStatement } from "../compiler/compile.ts";
import { learnPlan } from "../compiler/learn_filter.ts";
import type { LinuxLaunchPlan } from "../compiler/plan.ts";
import { signEnvelope } from "../crypto/dsse.ts";
import { toHex } from "../crypto/digest.ts";
import { generateSigningKey } from "../crypto/keys.ts";
import { Shim } from "../ffi/shim.ts";
import { accessesOf, type SyscallRecord } from "../learn/access.ts";
import { createEvaluator, type Denial } from "../learn/evaluate.ts";
import { proposeGrants, writeProposal } from "../learn/propose.ts";
import { proposalContext } from "../learn/proposal_context.ts";
import { formatDiagnostic, PolicyError } from "../policy/diagnostic.ts";
import { loadPolicy } from "../policy/load.ts";
import { parseCommand, stringFlag, UsageError } from "./args.ts";
import { type Command, endedHow, printError, printLaunchFailure } from "./command.ts";

/** Calls `onLine` with each line of a byte stream, without holding more than one line. */
async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    lines.filter((l) => l.length > 0).forEach(onLine);
  }
  if (rest.length > 0) onLine(rest);
}

/**
 * Runs the learning launch, hands each of the supervisor's records to `onRecord` (a long
 * run can record millions of calls: they are never all in memory), and resolves to the
 * child's status.
 */
async function record(
  plan: LinuxLaunchPlan,
  extraArgs: string[],
  onRecord: (record: SyscallRecord) => void,
): Promise<{ status: number } | { refused: number }> {
  const key = await generateSigningKey();
  const envelope = await signEnvelope(canonicalJson(planStatement(plan)), key);
  const envelopeBytes = new TextEncoder().encode(JSON.stringify(envelope));
  // A private directory: the records are the launcher's, written by its supervisor thread.
  // The shim unlinks the file once it has it open (the unconfined child may share the
  // launcher's uid); this handle, opened first, reads it.
  const dir = await Deno.makeTempDir({ prefix: "charter-learn-" });
  const recordsPath = `${dir}/records.jsonl`;
  using reader = await Deno.open(recordsPath, {
    read: true,
    write: true,
    createNew: true,
    mode: 0o600,
  });
  try {
    using shim = Shim.open();
    const launched = shim.launch(envelopeBytes, {
      trustedKeys: [toHex(key.publicKey.raw)],
      transcript: null,
      extraArgs,
      learn: { records: recordsPath },
    });
    if ("exitCode" in launched) {
      printLaunchFailure("learn", launched.outcome);
      return { refused: launched.exitCode };
    }
    const status = await launched.wait();
    await launched.release();
    await eachLine(reader.readable, (line) => onRecord(JSON.parse(line) as SyscallRecord));
    return { status };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The most distinct denial lines kept: a program that names a new path in every call (a
 * hostile one can, tens of thousands of times a second) must not grow the launcher
 * without bound; identical ones are only counted.
 */
const DISTINCT_KEPT = 20_000;

/** Denial lines with their counts, in first-seen order. */
function summarize(denials: Denial[]): string[] {
  return denials.map((d) => ((d.times ?? 1) > 1 ? `${d.line}  (${d.times}×)` : d.line));
}

/** The learn command. */
export const learnCommand: Command = {
  name: "learn",
  help: `Usage: charter learn POLICY [-o PROPOSED.yaml] [--merge PREVIOUS.yaml] [-- ARGS...]

Runs the policy's target under the policy's identity and namespaces (a listed filesystem
view is left out, so that one run sees every path the program tries), but records
instead of denying: Landlock is not applied, and the seccomp filter notifies a supervisor
in the launcher of every call the policy would deny and of every call that opens, creates,
removes, executes or looks up (stat, access, readlink, chdir) a path, or connects or binds
a socket; the supervisor records it and lets it run. Children and threads are followed.
The baseline's denials (io_uring, ptrace, bpf, nested namespaces, ...) stay: those calls
fail as they would under any policy, and are reported as needing syscalls.unsafe_allow.

Prints one line per access the policy would have denied, with the key that allows it:
  write /work/out/x → filesystem.write
  connect tcp 5432 → network.connect_tcp
  io_uring_setup → syscalls.unsafe_allow

Learn mode is not confinement: the target can reach whatever its ids can. Run it on the
program you mean to confine, with the inputs it will get, not on untrusted input.

Exit status: 0 when the policy would deny nothing, 1 when it would deny something (the
proposal then lists the grants), 125/126 when the learning launch could not start.

Options:
  -o, --out FILE     write the proposed policy: the policy's YAML plus the fewest grants
                     that allow what was denied, each with a comment (which accesses, how
                     many times); directories are never /, a top-level directory or a home
  --merge FILE       a previous proposal to build on: the run is judged against it, and its
                     grants stay (several runs merge)
  -h, --help         show this help
  -- ARGS...         appended to argv when the policy allows extra_args`,
  async run(argv) {
    const args = parseCommand(argv, {
      out: { type: "string", short: "o" },
      merge: { type: "string" },
    });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 1) {
      throw new UsageError("learn takes exactly one policy; see --help");
    }
    const input = args.positionals[0];
    const out = stringFlag(args.values, "out");
    const merge = stringFlag(args.values, "merge");
    const base = merge ?? input;
    for (const file of [input, base]) {
      if (!/\.ya?ml$/.test(file)) {
        throw new UsageError(`learn reads YAML policies; ${file} is not one`);
      }
    }
    const loaded = await loadPolicy(input);
    const statement = await buildStatement(loaded, { compiledOn: new Date() });
    const judged = base === input ? loaded : await loadPolicy(base);
    const judgedPlan = base === input
      ? statement.predicate
      : (await buildStatement(judged, { compiledOn: new Date() })).predicate;
    const plan = await learnPlan(statement.predicate, loaded.policy.syscalls?.unsafe_allow ?? []);
    const evaluator = createEvaluator(judgedPlan);
    // One entry per distinct denial line, with how often it happened.
    const distinct = new Map<string, Denial>();
    let recorded = 0;
    let total = 0;
    let unkept = 0;
    const run = await record(plan, args.rest, (r) => {
      recorded++;
      for (const d of accessesOf(r).flatMap((a) => evaluator.evaluate(a))) {
        total++;
        const seen = distinct.get(d.line);
        if (seen) seen.times = (seen.times ?? 1) + 1;
        else if (distinct.size < DISTINCT_KEPT) distinct.set(d.line, { ...d, times: 1 });
        else unkept++;
      }
    });
    if ("refused" in run) return run.refused;
    if (unkept > 0) {
      printError(
        `more than ${DISTINCT_KEPT} distinct denials: ${unkept} more were counted but are neither ` +
          "listed nor proposed; learn again with --merge on the proposal",
      );
    }
    const denials = [...distinct.values()];
    for (const line of summarize(denials)) console.log(line);
    console.error(
      `charter: learn: the target ${endedHow(run.status)}; ${recorded} calls recorded, ` +
        `${total} would be denied by ${base}`,
    );
    if (out !== undefined) {
      const proposal = proposeGrants(denials, proposalContext(judged));
      for (const r of proposal.refused) {
        printError(`not proposed: ${r.key} ${r.value} (${r.reason})`);
      }
      const text = writeProposal(await Deno.readTextFile(base), proposal);
      await Deno.writeTextFile(out, text);
      try {
        await loadPolicy(out);
      } catch (e) {
        if (!(e instanceof PolicyError)) throw e;
        for (const d of e.diagnostics) console.error(formatDiagnostic(d));
        printError(`the proposal ${out} has problems (above); fix them by hand`);
        return 1;
      }
      console.error(`charter: learn: wrote ${out} (${proposal.grants.length} grants)`);
    }
    return denials.length === 0 ? 0 : 1;
  },
};
