/**
 * Generates the seccomp compiler's data tables from the kernel and systemd sources kept in
 * `scripts/syscall-sources/` (see its README for where and which version each came from):
 *
 * - `compiler/seccomp/syscall_table_x86_64.ts` from `syscall_64.tbl` (ABIs `common` and `64`;
 *   the `x32` rows are left out) plus the v6.18 rows of `linux-6.18-additions.tbl`;
 * - `compiler/seccomp/syscall_table_aarch64.ts` from the generic `syscall.tbl` with arm64's ABI
 *   selection (`common`, `64` and the `syscall_abis_64` of `arm64-Makefile.syscalls`) plus the
 *   v6.18 rows;
 * - `compiler/seccomp/syscall_groups_table.ts` from `systemd-v255-syscall-groups.txt`.
 *
 * Run `deno run --allow-read --allow-write scripts/gen_syscall_tables.ts`; with `--check` it
 * writes nothing and exits 1 when a generated file is out of date.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SOURCES = `${ROOT}/scripts/syscall-sources`;
const OUT = `${ROOT}/compiler/seccomp`;

/** One row of a kernel `*.tbl` file. */
export interface TableRow {
  /** The syscall number. */
  nr: number;
  /** The ABI column (`common`, `64`, `x32`, `renameat`, ...). */
  abi: string;
  /** The syscall name. */
  name: string;
  /** Where the row came from, for error messages. */
  origin: string;
}

/** Raised when the source tables contradict each other or themselves. */
export class SyscallSourceError extends Error {
  /** Creates the error with a description of the contradiction. */
  constructor(message: string) {
    super(message);
    this.name = "SyscallSourceError";
  }
}

/**
 * Parses the rows of a kernel syscall table (`<number> <abi> <name> [<entry point> ...]`),
 * skipping comments and blank lines.
 *
 * @example
 * ```ts
 * import { parseTable } from "./gen_syscall_tables.ts";
 * const rows = parseTable("0\tcommon\tread\t\tsys_read\n# comment\n", "x.tbl");
 * console.log(rows[0].name); // "read"
 * ```
 */
export function parseTable(text: string, file: string): TableRow[] {
  const rows: TableRow[] = [];
  text.split("\n").forEach((line, i) => {
    const content = line.replace(/#.*/, "").trim();
    if (content === "") return;
    const [nr, abi, name] = content.split(/\s+/);
    if (!/^\d+$/.test(nr) || abi === undefined || name === undefined) {
      throw new SyscallSourceError(`${file}:${i + 1}: not a syscall table row: ${line}`);
    }
    rows.push({ nr: Number(nr), abi, name, origin: `${file}:${i + 1}` });
  });
  return rows;
}

/**
 * Parses `linux-6.18-additions.tbl`: rows prefixed with the table they belong to.
 *
 * @example
 * ```ts
 * import { parseAdditions } from "./gen_syscall_tables.ts";
 * const rows = parseAdditions("generic\t42\tcommon\tnfsservctl\tsys_ni_syscall\n", "a.tbl");
 * console.log(rows.get("generic")?.[0].nr); // 42
 * ```
 */
export function parseAdditions(text: string, file: string): Map<string, TableRow[]> {
  const byTable = new Map<string, TableRow[]>();
  text.split("\n").forEach((line, i) => {
    const content = line.replace(/#.*/, "").trim();
    if (content === "") return;
    const [table, ...rest] = content.split(/\s+/);
    const [row] = parseTable(rest.join("\t"), file);
    row.origin = `${file}:${i + 1}`;
    byTable.set(table, [...byTable.get(table) ?? [], row]);
  });
  return byTable;
}

/**
 * Reads the `syscall_abis_64 += ...` words of an arch's `Makefile.syscalls`.
 *
 * @example
 * ```ts
 * import { parseAbis } from "./gen_syscall_tables.ts";
 * console.log(parseAbis("syscall_abis_64 += renameat rlimit\n")); // ["renameat", "rlimit"]
 * ```
 */
export function parseAbis(makefile: string): string[] {
  return [...makefile.matchAll(/^syscall_abis_64\s*\+=(.*)$/gm)]
    .flatMap((m) => m[1].trim().split(/\s+/))
    .filter((w) => w !== "");
}

/**
 * Merges base rows with added rows and selects the rows of the given ABIs into a
 * name → number map, refusing duplicates and contradictions.
 *
 * @example
 * ```ts
 * import { selectRows } from "./gen_syscall_tables.ts";
 * const map = selectRows(
 *   [{ nr: 0, abi: "common", name: "read", origin: "a" }, { nr: 512, abi: "x32", name: "x", origin: "b" }],
 *   [],
 *   ["common", "64"],
 * );
 * console.log([...map]); // [["read", 0]]
 * ```
 */
export function selectRows(
  base: TableRow[],
  added: TableRow[],
  abis: string[],
): Map<string, number> {
  for (const row of added) {
    const clash = base.find((b) => b.abi === row.abi && (b.nr === row.nr || b.name === row.name));
    if (clash) {
      throw new SyscallSourceError(
        `${row.origin}: ${row.name} (${row.nr}) clashes with ${clash.origin}: ${clash.name} (${clash.nr})`,
      );
    }
  }
  const byName = new Map<string, TableRow>();
  const byNumber = new Map<number, TableRow>();
  for (const row of [...base, ...added].filter((r) => abis.includes(r.abi))) {
    const sameName = byName.get(row.name);
    const sameNumber = byNumber.get(row.nr);
    if (sameName || sameNumber) {
      const other = (sameName ?? sameNumber)!;
      throw new SyscallSourceError(
        `${row.origin}: ${row.name} (${row.nr}) duplicates ${other.origin}: ${other.name} (${other.nr})`,
      );
    }
    byName.set(row.name, row);
    byNumber.set(row.nr, row);
  }
  return new Map([...byNumber.values()].sort((a, b) => a.nr - b.nr).map((r) => [r.name, r.nr]));
}

/**
 * Parses the systemd group reference (`@group: member member ...` per line).
 *
 * @example
 * ```ts
 * import { parseGroups } from "./gen_syscall_tables.ts";
 * console.log(parseGroups("@swap: swapoff swapon\n").get("@swap")); // ["swapoff", "swapon"]
 * ```
 */
export function parseGroups(text: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const m = /^(@[a-z0-9-]+):(.*)$/.exec(line);
    if (!m) throw new SyscallSourceError(`Not a group line: ${line}`);
    groups.set(m[1], m[2].trim().split(/\s+/).filter((w) => w !== ""));
  }
  return groups;
}

function header(sources: string[]): string {
  return [
    `// Generated by scripts/gen_syscall_tables.ts from ${sources.join(", ")}`,
    "// (in scripts/syscall-sources/). Do not edit: change the sources and regenerate.",
    "",
  ].join("\n");
}

function renderTable(
  arch: string,
  constName: string,
  table: Map<string, number>,
  sources: string[],
): string {
  const lines = [
    header(sources),
    "/**",
    ` * Syscall name → number on ${arch} (Linux v6.18), in number order.`,
    " *",
    " * @example",
    " * ```ts",
    ` * import { ${constName} } from "./syscall_table_${arch}.ts";`,
    ` * console.log(${constName}.openat); // ${table.get("openat")}`,
    " * ```",
    " */",
    `export const ${constName} = {`,
    ...[...table].map(([name, nr]) => `  ${name}: ${nr},`),
    "} as const;",
    "",
  ];
  return lines.join("\n");
}

function renderGroups(groups: Map<string, string[]>): string {
  const lines = [
    header(["systemd-v255-syscall-groups.txt"]),
    "/**",
    " * systemd's syscall groups (v255): group name → members, which are syscall names of any",
    " * architecture or other groups.",
    " *",
    " * @example",
    " * ```ts",
    ' * import { SYSTEMD_SYSCALL_GROUPS } from "./syscall_groups_table.ts";',
    ' * console.log(SYSTEMD_SYSCALL_GROUPS["@swap"]); // ["swapoff", "swapon"]',
    " * ```",
    " */",
    "export const SYSTEMD_SYSCALL_GROUPS: Readonly<Record<string, readonly string[]>> = {",
  ];
  for (const [group, members] of groups) {
    lines.push(`  "${group}": [`, ...members.map((m) => `    "${m}",`), "  ],");
  }
  lines.push("};", "");
  return lines.join("\n");
}

/**
 * Builds the generated files' contents from the sources: path → text.
 *
 * @example
 * ```ts ignore
 * import { generate } from "./gen_syscall_tables.ts";
 * const files = generate();
 * console.log([...files.keys()].length); // 3
 * ```
 */
export function generate(): Map<string, string> {
  const read = (f: string) => Deno.readTextFileSync(`${SOURCES}/${f}`);
  const additions = parseAdditions(read("linux-6.18-additions.tbl"), "linux-6.18-additions.tbl");
  for (const table of additions.keys()) {
    if (table !== "x86_64" && table !== "generic") {
      throw new SyscallSourceError(`linux-6.18-additions.tbl: unknown table ${table}`);
    }
  }
  const x86 = selectRows(
    parseTable(read("syscall_64.tbl"), "syscall_64.tbl"),
    additions.get("x86_64") ?? [],
    ["common", "64"],
  );
  const arm64Abis = ["common", "64", ...parseAbis(read("arm64-Makefile.syscalls"))];
  const arm64 = selectRows(
    parseTable(read("syscall.tbl"), "syscall.tbl"),
    additions.get("generic") ?? [],
    arm64Abis,
  );
  return new Map([
    [
      `${OUT}/syscall_table_x86_64.ts`,
      renderTable("x86_64", "SYSCALLS_X86_64", x86, [
        "syscall_64.tbl",
        "linux-6.18-additions.tbl",
      ]),
    ],
    [
      `${OUT}/syscall_table_aarch64.ts`,
      renderTable("aarch64", "SYSCALLS_AARCH64", arm64, [
        "syscall.tbl",
        "arm64-Makefile.syscalls",
        "linux-6.18-additions.tbl",
      ]),
    ],
    [
      `${OUT}/syscall_groups_table.ts`,
      renderGroups(parseGroups(read("systemd-v255-syscall-groups.txt"))),
    ],
  ]);
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  let stale = 0;
  for (const [path, text] of generate()) {
    let current: string | undefined;
    try {
      current = Deno.readTextFileSync(path);
    } catch {
      current = undefined;
    }
    if (current === text) continue;
    if (check) {
      console.error(`${path} is out of date: run scripts/gen_syscall_tables.ts`);
      stale++;
    } else {
      Deno.writeTextFileSync(path, text);
      console.log(`wrote ${path}`);
    }
  }
  if (stale > 0) Deno.exit(1);
}
