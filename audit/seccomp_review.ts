/**
 * What a plan's seccomp program does, in words, from the exact path analysis
 * (`compiler/seccomp/filter_paths.ts`): per arch the program tells apart, which syscalls
 * may run and under which argument conditions, and, between two programs, every syscall
 * and argument condition whose decision changed.
 *
 * @module
 */
import {
  argumentConstants,
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_X86_64,
  authorityRank,
  describeReturn,
  type FilterDifference,
  type FilterPath,
  type SeccompArch,
  syscallTable,
} from "../compiler/seccomp/mod.ts";
import {
  atomHolds,
  satisfiable,
  type WordAtom,
  wordInterval,
} from "../compiler/seccomp/word_constraint.ts";

const NR = 0;
const ARCH = 1;
const U32_MAX = 0xffffffff;

/** `AUDIT_ARCH_*` values with names, for the arches a program may tell apart. */
const ARCH_NAMES: ReadonlyMap<number, { name: string; table?: SeccompArch }> = new Map([
  [AUDIT_ARCH_X86_64, { name: "x86_64", table: "x86_64" }],
  [AUDIT_ARCH_AARCH64, { name: "aarch64", table: "aarch64" }],
  [0x40000003, { name: "i386" }],
  [0x40000028, { name: "arm" }],
]);

/** An arch as the program tells it apart: one `AUDIT_ARCH_*` value, or every other one. */
export interface ArchClass {
  /** The value, or undefined for "every arch value the program does not compare with". */
  value?: number;
  /** `x86_64`, `i386`, `arch 0x…`, or `any other arch`. */
  label: string;
}

/**
 * The arch classes of one or more programs: every value their paths compare the arch word
 * with for equality, then "any other arch".
 *
 * @example
 * ```ts ignore
 * archClasses([filterPaths(program)]).map((c) => c.label); // ["x86_64", "any other arch"]
 * ```
 */
export function archClasses(programs: FilterPath[][]): ArchClass[] {
  const values = new Set<number>();
  for (const paths of programs) {
    for (const p of paths) {
      for (const a of p.atoms) {
        if (a.word === ARCH && a.op === "eq" && a.mask >>> 0 === U32_MAX) values.add(a.k);
      }
    }
  }
  const classes: ArchClass[] = [...values].sort((a, b) => a - b).map((value) => ({
    value,
    label: ARCH_NAMES.get(value)?.name ?? `arch 0x${value.toString(16).padStart(8, "0")}`,
  }));
  return [...classes, { label: "any other arch" }];
}

/** The constraints that put the arch word in a class. */
function classAtoms(c: ArchClass, classes: ArchClass[]): WordAtom[] {
  const eq = (k: number, holds: boolean): WordAtom => ({
    word: ARCH,
    mask: U32_MAX,
    op: "eq",
    k,
    holds,
  });
  if (c.value !== undefined) return [eq(c.value, true)];
  return classes.filter((x) => x.value !== undefined).map((x) => eq(x.value!, false));
}

/** A region restricted to a class, or undefined when it has no input there. */
function inClass(atoms: WordAtom[], c: ArchClass, classes: ArchClass[]): WordAtom[] | undefined {
  const arch = [...atoms.filter((a) => a.word === ARCH), ...classAtoms(c, classes)];
  return satisfiable(arch) ? [...atoms.filter((a) => a.word !== ARCH), ...arch] : undefined;
}

/** The syscall table that names numbers in a class, if any. */
function tableOf(c: ArchClass): SeccompArch | undefined {
  return c.value === undefined ? undefined : ARCH_NAMES.get(c.value)?.table;
}

/** Which syscall numbers a set of `nr` constraints admits. */
interface NumberSet {
  /** Table syscalls admitted, in number order. */
  names: string[];
  /** Numbers outside the table admitted, as ranges (when `nr` is only compared whole). */
  ranges: [number, number][];
  /** Otherwise, the masked tests of `nr` in words. */
  masked?: string;
  /** True when every number (table or not) is admitted. */
  every: boolean;
}

/** Describes the syscall numbers a region admits, naming table entries. */
function numbersOf(nrAtoms: WordAtom[], table: SeccompArch | undefined): NumberSet {
  const entries = table ? [...syscallTable(table)].sort((a, b) => a[1] - b[1]) : [];
  const names = entries.filter(([, nr]) => nrAtoms.every((a) => atomHolds(a, nr))).map((e) => e[0]);
  const every = nrAtoms.length === 0;
  if (!nrAtoms.every((a) => a.mask >>> 0 === U32_MAX && a.op !== "set")) {
    // Masked tests of the number: say which, exactly, instead of listing ranges.
    const masked = `numbers where ${nrAtoms.map((a) => atomText(a)).join(" and ")}`;
    return { names, ranges: [], masked, every };
  }
  return { names, ranges: numberRanges(nrAtoms, new Set(entries.map((e) => e[1]))), every };
}

/** The numbers outside the table in words: `numbers not in the table 470–1073741823, …`. */
function othersText(ranges: [number, number][], masked: string[], table: boolean): string[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const text = sorted.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}–${hi}`)).join(", ");
  const all = sorted.length === 1 && sorted[0][0] === 0 && sorted[0][1] === U32_MAX;
  const head = table ? "numbers not in the table" : all ? "every syscall number" : "numbers";
  return [...(sorted.length ? [all && !table ? head : `${head} ${text}`] : []), ...masked];
}

/** The ranges of numbers satisfying whole-word constraints, minus `skip`. */
function numberRanges(atoms: WordAtom[], skip: ReadonlySet<number>): [number, number][] {
  const { lo, hi, excluded } = wordInterval(atoms)!;
  const cuts = [...excluded, ...skip].filter((x) => x >= lo && x <= hi).sort((a, b) => a - b);
  const out: [number, number][] = [];
  let start = lo;
  for (const x of cuts) {
    if (x > start) out.push([start, x - 1]);
    start = Math.max(start, x + 1);
  }
  if (start <= hi) out.push([start, hi]);
  return out;
}

/** Which constant names explain a value of an argument of a syscall. */
const ARG_PREFIXES: Readonly<Record<string, readonly (readonly string[])[]>> = {
  socket: [["AF_"], ["SOCK_"], ["IPPROTO_", "NETLINK_"]],
  socketpair: [["AF_"], ["SOCK_"]],
  clone: [["CLONE_"]],
  unshare: [["CLONE_"]],
  setns: [[], ["CLONE_"]],
  prctl: [["PR_"]],
  fcntl: [[], ["F_"]],
  ioctl: [[], ["TIOC", "TC", "FIO"]],
  open: [[], ["O_"]],
  openat: [[], [], ["O_"]],
  mmap: [[], [], ["PROT_"], ["MAP_"]],
  mprotect: [[], [], ["PROT_"]],
  personality: [["PER_"]],
  memfd_create: [[], ["MFD_"]],
  setsockopt: [[], ["SOL_"]],
};

/** Names of the word a constraint tests. */
function wordName(word: number): string {
  if (word === NR) return "nr";
  if (word === ARCH) return "arch";
  if (word < 4) return `ip.${word === 2 ? "lo" : "hi"}`;
  return `arg${(word - 4) >> 1}.${word & 1 ? "hi" : "lo"}`;
}

function numberText(k: number, names?: ReadonlyMap<bigint, string[]>): string {
  const base = k > 4095 ? `0x${(k >>> 0).toString(16)}` : String(k);
  const known = names?.get(BigInt(k));
  return known?.length ? `${base} (${known.join("|")})` : base;
}

/**
 * One constraint in words: `arg0.lo == 2 (AF_INET)`, `(arg2.lo & 0x3) != 1`,
 * `arg0.lo & 0x10000000 == 0`.
 */
function atomText(a: WordAtom, names?: ReadonlyMap<bigint, string[]>): string {
  const w = wordName(a.word);
  if (a.op === "set") {
    return `${w} & ${numberText(a.k, names)} ${a.holds ? "!=" : "=="} 0`;
  }
  const subject = a.mask >>> 0 === U32_MAX ? w : `(${w} & 0x${(a.mask >>> 0).toString(16)})`;
  const op = a.op === "eq"
    ? (a.holds ? "==" : "!=")
    : a.op === "gt"
    ? (a.holds ? ">" : "<=")
    : (a.holds ? ">=" : "<");
  return `${subject} ${op} ${numberText(a.k, names)}`;
}

/** Constant names per value for one argument of one syscall. */
function constantNames(
  arch: SeccompArch | undefined,
  syscall: string | undefined,
  arg: number,
): ReadonlyMap<bigint, string[]> | undefined {
  const prefixes = syscall && arch ? ARG_PREFIXES[syscall]?.[arg] : undefined;
  if (!prefixes?.length) return undefined;
  const out = new Map<bigint, string[]>();
  for (const [name, value] of argumentConstants(arch!)) {
    if (prefixes.some((p) => name.startsWith(p))) out.set(value, [...(out.get(value) ?? []), name]);
  }
  return out;
}

/**
 * The argument (and instruction pointer) conditions of a region, in words, or "" when it
 * has none. Constants are named when the region is one syscall whose argument has a
 * family of names.
 */
function conditionText(
  atoms: WordAtom[],
  arch: SeccompArch | undefined,
  syscall: string | undefined,
): string {
  // Equality tests of the arch word define the classes; other arch tests (in "any other
  // arch") are conditions too.
  const rest = atoms.filter((a) =>
    a.word > ARCH || (a.word === ARCH && !(a.op === "eq" && a.mask >>> 0 === U32_MAX))
  ).sort((a, b) => a.word - b.word);
  const unique = rest.filter((a, i) => rest.findIndex((b) => atomText(b) === atomText(a)) === i);
  return unique.map((a) =>
    atomText(a, a.word >= 4 ? constantNames(arch, syscall, (a.word - 4) >> 1) : undefined)
  ).join(" and ");
}

/** What one program does on one arch class. */
export interface ArchView {
  /** The class. */
  arch: ArchClass;
  /** Table syscalls some input lets run (rank ≥ TRACE), with their conditions. */
  running: { name: string; text: string }[];
  /** One line per other outcome: how many table syscalls get it, and which other numbers. */
  rest: string[];
}

/**
 * What a program (its feasible paths) does, per arch class: the syscalls that may run,
 * with the exact argument conditions and the action in every other case.
 *
 * @example
 * ```ts ignore
 * const views = describeFilter(filterPaths(program), archClasses([paths]));
 * ```
 */
export function describeFilter(paths: FilterPath[], classes: ArchClass[]): ArchView[] {
  return classes.map((c) => {
    const table = tableOf(c);
    const here = paths.flatMap((p) => {
      const atoms = inClass(p.atoms, c, classes);
      return atoms ? [{ atoms, ret: p.ret }] : [];
    });
    const running: ArchView["running"] = [];
    const byAction = new Map<
      string,
      { names: number; ranges: [number, number][]; masked: string[] }
    >();
    const entry = (action: string) => {
      const e = byAction.get(action) ?? { names: 0, ranges: [], masked: [] };
      byAction.set(action, e);
      return e;
    };
    const entries = table ? [...syscallTable(table)].sort((a, b) => a[1] - b[1]) : [];
    for (const [name, nr] of entries) {
      const cases = here.filter((p) => p.atoms.every((a) => a.word !== NR || atomHolds(a, nr)));
      if (cases.length === 1) {
        if (authorityRank(cases[0].ret) >= 4) {
          const action = describeReturn(cases[0].ret);
          running.push({ name, text: action === "ALLOW" ? name : `${name} (${action})` });
        } else entry(describeReturn(cases[0].ret)).names++;
        continue;
      }
      if (!cases.some((p) => authorityRank(p.ret) >= 4)) {
        entry(cases.map((p) => describeReturn(p.ret)).filter(unique).join(" or ")).names++;
        continue;
      }
      const conditions = cases.map((p) =>
        `${describeReturn(p.ret)} when ${conditionText(p.atoms, table, name) || "always"}`
      );
      running.push({ name, text: `${name}: ${conditions.join("; ")}` });
    }
    // Numbers outside the table (every number when the class has no table).
    for (const p of here) {
      const set = numbersOf(p.atoms.filter((a) => a.word === NR), table);
      const cond = conditionText(p.atoms, table, undefined);
      const e = entry(describeReturn(p.ret) + (cond ? ` when ${cond}` : ""));
      e.ranges.push(...set.ranges);
      if (set.masked) e.masked.push(set.masked);
    }
    const rest = [...byAction].flatMap(([action, { names, ranges, masked }]) => {
      const what = [
        ...(names ? [`${names} syscall${names === 1 ? "" : "s"}`] : []),
        ...othersText(ranges, masked, table !== undefined),
      ];
      return what.length ? [`${action}: ${what.join("; ")}`] : [];
    });
    return { arch: c, running, rest };
  });
}

function unique<T>(x: T, i: number, all: T[]): boolean {
  return all.indexOf(x) === i;
}

/** One change of decision between two programs, in words. */
export interface SyscallChange {
  /** The arch class label. */
  arch: string;
  /** The syscalls (names, or number ranges) whose decision changed. */
  what: string;
  /** The syscall, when the change concerns exactly one table syscall. */
  syscall?: string;
  /** The argument conditions under which it changed ("" for every argument value). */
  condition: string;
  /** The decision before and after (`ERRNO(EPERM) → ALLOW`). */
  change: string;
  /** True when the new decision gives more authority (see `authorityRank`). */
  widens: boolean;
  /** True when it gives less. */
  narrows: boolean;
}

/**
 * The changes of decision between two programs, per arch class, syscall and argument
 * condition, merged where only the syscall differs.
 *
 * @example
 * ```ts ignore
 * const changes = describeChanges(compareFilters(a, b), archClasses([a, b]));
 * ```
 */
export function describeChanges(
  differences: FilterDifference[],
  classes: ArchClass[],
): SyscallChange[] {
  const merged = new Map<string, SyscallChange & { names: string[]; others: string[] }>();
  for (const d of differences) {
    for (const c of classes) {
      const atoms = inClass(d.atoms, c, classes);
      if (!atoms) continue;
      const table = tableOf(c);
      const set = numbersOf(atoms.filter((a) => a.word === NR), table);
      const single = set.names.length === 1 && !set.ranges.length && !set.masked
        ? set.names[0]
        : undefined;
      const condition = conditionText(atoms, table, single);
      const change = `${describeReturn(d.before)} → ${describeReturn(d.after)}`;
      const key = `${c.label}\0${condition}\0${change}`;
      const entry = merged.get(key) ?? {
        arch: c.label,
        what: "",
        condition,
        change,
        widens: authorityRank(d.after) > authorityRank(d.before),
        narrows: authorityRank(d.after) < authorityRank(d.before),
        names: [],
        others: [],
      };
      if (set.every) entry.others.push("every syscall");
      else {
        entry.names.push(...set.names);
        entry.others.push(...othersText(set.ranges, set.masked ? [set.masked] : [], !!table));
      }
      merged.set(key, entry);
    }
  }
  return [...merged.values()].map(({ names, others, ...rest }) => {
    const syscalls = names.filter(unique);
    const single = syscalls.length === 1 && others.length === 0 ? syscalls[0] : undefined;
    return {
      ...rest,
      what: [...syscalls, ...others.filter(unique)].join(", "),
      ...(single ? { syscall: single } : {}),
    };
  });
}
