/**
 * A small assembler for seccomp programs: symbolic labels, a shared pool of `ret`
 * instructions, and long jumps. Classic BPF conditional jumps reach at most 255
 * instructions ahead; a conditional jump whose target is farther gets a stub right after
 * it: a copy of the `ret` when the target is a `ret` (no extra instruction runs), else a
 * `ja` with its 32-bit offset.
 *
 * @module
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_W,
  jump,
  type SockFilter,
  stmt,
} from "./bpf.ts";

/** A symbolic jump target. */
export type Label = number;

/** Conditional jump kinds (all compare A with the constant k). */
export type JumpCond = "jeq" | "jge" | "jgt" | "jset";

/** One instruction (or label) of the assembler's input. */
export type AsmItem =
  | { op: "label"; label: Label }
  | { op: "ld"; offset: number }
  | { op: "and"; k: number }
  | { op: "jmp"; cond: JumpCond; k: number; jt: Label; jf: Label }
  | { op: "ja"; target: Label }
  | { op: "ret"; k: number };

const MAX_OFFSET = 255;

const JUMP_CODES: Record<JumpCond, number> = {
  jeq: BPF_JMP | BPF_JEQ | BPF_K,
  jge: BPF_JMP | BPF_JGE | BPF_K,
  jgt: BPF_JMP | BPF_JGT | BPF_K,
  jset: BPF_JMP | BPF_JSET | BPF_K,
};

/**
 * Builds assembler input: fresh labels, a `ret` pool (one `ret` per distinct value, placed
 * after the code), and the item list.
 *
 * @example
 * ```ts
 * import { Assembly } from "./assemble.ts";
 * const asm = new Assembly();
 * const done = asm.retLabel(0x7fff0000);
 * asm.emit({ op: "ld", offset: 0 });
 * asm.emit({ op: "jmp", cond: "jeq", k: 0, jt: done, jf: done });
 * console.log(asm.assemble().length); // 3
 * ```
 */
export class Assembly {
  /** The code so far (without the `ret` pool). */
  readonly items: AsmItem[] = [];
  #next = 0;
  readonly #retLabels = new Map<number, Label>();
  readonly #retOfLabel = new Map<Label, number>();

  /** A fresh label. */
  label(): Label {
    return this.#next++;
  }

  /** The label of the pooled `ret k`. */
  retLabel(k: number): Label {
    k = k >>> 0;
    let label = this.#retLabels.get(k);
    if (label === undefined) {
      label = this.label();
      this.#retLabels.set(k, label);
      this.#retOfLabel.set(label, k);
    }
    return label;
  }

  /** The `ret` value a label stands for, if it is a pooled `ret`. */
  retValue(label: Label): number | undefined {
    return this.#retOfLabel.get(label);
  }

  /** Appends an item. */
  emit(item: AsmItem): void {
    this.items.push(item);
  }

  /** Binds a label at the current position. */
  bind(label: Label): void {
    this.items.push({ op: "label", label });
  }

  /** Resolves labels, fixes long jumps, and returns the program. */
  assemble(): SockFilter[] {
    const items = [...this.items];
    for (const [k, label] of this.#retLabels) {
      items.push({ op: "label", label }, { op: "ret", k });
    }
    let fixed = items;
    for (;;) {
      const next = this.#fixLongJumps(fixed);
      if (next === fixed) break;
      fixed = next;
    }
    return this.#encode(this.#dropDeadCode(fixed));
  }

  #positions(items: AsmItem[]): Map<Label, number> {
    const at = new Map<Label, number>();
    let pc = 0;
    for (const item of items) {
      if (item.op === "label") at.set(item.label, pc);
      else pc++;
    }
    return at;
  }

  /** One pass: returns the same array when no jump was too long. */
  #fixLongJumps(items: AsmItem[]): AsmItem[] {
    const at = this.#positions(items);
    const out: AsmItem[] = [];
    let changed = false;
    let pc = 0;
    for (const item of items) {
      out.push(item);
      if (item.op === "label") continue;
      if (item.op === "jmp") {
        const stubs: AsmItem[] = [];
        const retarget = (target: Label): Label => {
          if (at.get(target)! - (pc + 1) <= MAX_OFFSET) return target;
          const stub = this.label();
          const k = this.retValue(target);
          stubs.push(
            { op: "label", label: stub },
            k !== undefined ? { op: "ret", k } : {
              op: "ja",
              target,
            },
          );
          return stub;
        };
        const jt = retarget(item.jt);
        const jf = item.jf === item.jt ? jt : retarget(item.jf);
        if (stubs.length > 0) {
          out[out.length - 1] = { ...item, jt, jf };
          out.push(...stubs);
          changed = true;
        }
      }
      pc++;
    }
    return changed ? out : items;
  }

  /** Removes pooled `ret`s (and other code) that no jump reaches. */
  #dropDeadCode(items: AsmItem[]): AsmItem[] {
    const used = new Set<Label>();
    for (const item of items) {
      if (item.op === "jmp") used.add(item.jt).add(item.jf);
      if (item.op === "ja") used.add(item.target);
    }
    const out: AsmItem[] = [];
    let reachable = true;
    for (const item of items) {
      if (item.op === "label") {
        if (used.has(item.label)) reachable = true;
        out.push(item);
        continue;
      }
      if (reachable) out.push(item);
      if (item.op === "ret" || item.op === "ja" || item.op === "jmp") reachable = false;
    }
    return out;
  }

  #encode(items: AsmItem[]): SockFilter[] {
    const at = this.#positions(items);
    const program: SockFilter[] = [];
    const offset = (target: Label, pc: number): number => {
      const to = at.get(target);
      if (to === undefined) throw new Error(`Unbound label ${target}`);
      const distance = to - (pc + 1);
      if (distance < 0) throw new Error(`Backward jump from ${pc} to ${to}`);
      return distance;
    };
    for (const item of items) {
      const pc = program.length;
      switch (item.op) {
        case "label":
          break;
        case "ld":
          program.push(stmt(BPF_LD | BPF_W | BPF_ABS, item.offset));
          break;
        case "and":
          program.push(stmt(BPF_ALU | BPF_AND | BPF_K, item.k));
          break;
        case "ret":
          program.push(stmt(BPF_RET | BPF_K, item.k));
          break;
        case "ja":
          program.push(stmt(BPF_JMP | BPF_JA, offset(item.target, pc)));
          break;
        case "jmp": {
          const jt = offset(item.jt, pc);
          const jf = offset(item.jf, pc);
          if (jt > MAX_OFFSET || jf > MAX_OFFSET) throw new Error(`Jump too long at ${pc}`);
          program.push(jump(JUMP_CODES[item.cond], item.k, jt, jf));
          break;
        }
      }
    }
    return program;
  }
}
