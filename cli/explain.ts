/**
 * `charter explain`: the effective policy, grouped by mechanism, with where each rule
 * came from and what this kernel can enforce.
 *
 * @module
 */
import { type Grant, grantsOf } from "../audit/grants.ts";
import { disassemble } from "../compiler/seccomp/mod.ts";
import { fromBase64 } from "../crypto/digest.ts";
import { Shim } from "../ffi/shim.ts";
import type { Provenance, ProvenanceMap } from "../policy/merge.ts";
import type { Removal } from "../policy/remove.ts";
import { parseCommand, UsageError } from "./args.ts";
import type { Command } from "./command.ts";
import { readPlanInput } from "./plan_input.ts";

const WILDCARDS: Record<string, string[]> = {
  "filesystem.*": ["filesystem.read", "filesystem.write", "filesystem.exec"],
  "network.*": ["network.connect_tcp", "network.bind_tcp"],
  "syscalls.*": ["syscalls.allow", "syscalls.deny"],
};

/** Every policy location that contributed to a grant. */
export function provenanceOf(grant: Grant, provenance: ProvenanceMap | undefined): Provenance[] {
  if (!grant.source || !provenance) return [];
  const star = /^(\w+\.\*)(.*)$/.exec(grant.source);
  const keys = star ? WILDCARDS[star[1]].map((prefix) => prefix + star[2]) : [grant.source];
  return keys.flatMap((k) => provenance.get(k) ?? []);
}

/** A grant with the policy locations it came from. */
export type LocatedGrant = Grant & { from: Provenance[] };

/**
 * Prints grants grouped by mechanism, each with where it came from when known.
 *
 * @example
 * ```ts ignore
 * import { printGrants } from "./explain.ts";
 * printGrants(grantsOf(plan).map((g) => ({ ...g, from: [] })));
 * ```
 */
export function printGrants(grants: LocatedGrant[]): void {
  let mechanism = "";
  // The program analysis, per arch, prints under the filter line.
  const analysed = grants.filter((g) => g.analysed);
  const rows = grants.filter((g) => !g.analysed);
  // One column for the rules, one for where they came from: a table per mechanism.
  const width = Math.min(72, Math.max(...rows.map((g) => g.text.length)));
  for (const g of rows) {
    if (g.mechanism !== mechanism) {
      console.log(`${mechanism ? "\n" : ""}${(mechanism = g.mechanism)}`);
    }
    // Values no file set (the defaults layer) have no position: shown as `default`.
    const from = [...new Set(g.from.map(located))].join(", ");
    console.log(from ? `  ${g.text.padEnd(width)}  <- ${from}` : `  ${g.text}`);
    if (g.key === "syscalls:filter") printProgramView(analysed);
  }
}

/** Per arch: the syscalls that may run (plain names wrapped, conditional ones a line each), then every other outcome. */
function printProgramView(analysed: Grant[]): void {
  const archOf = (g: Grant) => g.key.split(":")[1];
  for (const arch of new Set(analysed.map(archOf))) {
    const here = analysed.filter((g) => archOf(g) === arch);
    const running = here.filter((g) => !g.restricts);
    console.log(`  ${arch}: ${running.length} syscalls may run${running.length ? ":" : ""}`);
    const plain = running.filter((g) => !g.text.includes(":"));
    printWrapped(plain.map((g) => g.text), "    ");
    for (const g of running.filter((g) => !plain.includes(g))) console.log(`    ${g.text}`);
    for (const g of here.filter((g) => g.restricts)) {
      console.log(`    otherwise ${g.text.slice(arch.length + 2)}`);
    }
  }
}

/** Where a value was written, as `explain` shows it: `file:line:col`, or `default`. */
function located(p: Provenance): string {
  return p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
}

/** Prints what `remove` took away: each item, where it was removed, and who granted it. */
function printRemovals(removals: Removal[]): void {
  console.log("\nremoved (granted by a file this policy extends, taken away by remove)");
  const text = (r: Removal) => `${r.key} ${JSON.stringify(r.item)}`;
  const width = Math.max(...removals.map((r) => text(r).length));
  for (const r of removals) {
    const where = `removed at ${located(r.removedAt)}, granted at ${located(r.grantedAt)}`;
    console.log(`  ${text(r).padEnd(width)}  ${where}`);
  }
}

/** Prints names six to a line, comma-separated. */
function printWrapped(words: string[], indent: string): void {
  for (let i = 0; i < words.length; i += 6) {
    console.log(`${indent}${words.slice(i, i + 6).join(", ")}`);
  }
}

/** The explain command. */
export const explainCommand: Command = {
  name: "explain",
  help: `Usage: charter explain POLICY|PLAN [--json]

Prints what the child is granted and how it is confined, grouped by mechanism. For a
policy, each rule shows the file:line:col it came from (across extends). It also shows
what this kernel offers when the shim is built.

Options:
  --json       machine-readable output
  -h, --help   show this help`,
  async run(argv) {
    const args = parseCommand(argv, { json: { type: "boolean" } });
    if (args.help) return console.log(this.help), 0;
    if (args.positionals.length !== 1) {
      throw new UsageError("explain takes one policy or plan; see --help");
    }
    const { plan, provenance, removals, absentSyscalls } = await readPlanInput(
      args.positionals[0],
    );
    const grants = grantsOf(plan).map((g) => ({ ...g, from: provenanceOf(g, provenance) }));
    let kernel: Record<string, unknown> | null = null;
    try {
      using shim = Shim.open();
      kernel = shim.probe();
    } catch {
      kernel = null;
    }
    const listing = plan.seccomp
      ? disassemble(fromBase64(plan.seccomp.bpfB64), { arch: plan.arch })
      : undefined;
    if (args.values.json) {
      console.log(
        JSON.stringify(
          { grants, removals, kernel, seccompListing: listing ?? null, absentSyscalls },
          null,
          2,
        ),
      );
      return 0;
    }
    printGrants(grants);
    if (removals?.length) printRemovals(removals);
    if (absentSyscalls?.length) {
      // Named by the policy or its groups, but not syscalls on this arch: they match nothing.
      console.log(
        `\nnot syscalls on ${plan.arch} (named by the policy or its groups; match nothing)`,
      );
      printWrapped(absentSyscalls, "  ");
    }
    if (listing) {
      console.log(
        `\nseccomp program (${plan.seccomp!.instructions} instructions, sha256 ${
          plan.seccomp!.sha256
        })\n${listing}`,
      );
    }
    console.log(
      kernel
        ? `\nkernel\n  ${
          Object.entries(kernel).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n  ")
        }`
        : "\nkernel\n  (shim not built: run scripts/bootstrap.sh)",
    );
    return 0;
  },
};
