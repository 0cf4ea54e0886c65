/**
 * Randomized: 1,000 mutations of valid policies (keys dropped, duplicated, retyped,
 * values garbled, text cut). Loading must never crash: it either succeeds or throws a
 * PolicyError whose every diagnostic points inside the file that caused it.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { loadPolicy, PolicyError } from "../mod.ts";
import { ROOT, tempDir } from "./helpers.ts";

const SEEDS = [
  `${ROOT}/examples/hello.yaml`,
  `${ROOT}/tests/corpus/valid/every_key.yaml`,
  `${ROOT}/policy/builtin/base.yaml`,
];
const ROUNDS = 1000;

/** mulberry32: a small seeded PRNG, so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function mutate(value: Json, random: () => number): Json {
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const garbage: Json[] = [
    null,
    true,
    -1,
    0,
    2 ** 40,
    3.5,
    "",
    "x/y",
    "/abs",
    "512XB",
    [],
    {},
    ["@nope"],
    { errno: "EWHAT" },
    "\u0000",
    "ünïcödé",
  ];
  // Walk to a random node, then change it.
  const paths: (string | number)[][] = [];
  const walk = (v: Json, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    }
  };
  walk(value, []);
  const path = pick(paths.slice(1));
  const parent = path.slice(0, -1).reduce<Json>(
    (v, k) => (v as Record<string, Json>)[k],
    value,
  ) as Record<string | number, Json>;
  const key = path.at(-1)!;
  const op = pick(["drop", "retype", "garble", "add-key", "duplicate"]);
  if (op === "drop") Array.isArray(parent) ? parent.splice(key as number, 1) : delete parent[key];
  else if (op === "retype" || op === "garble") parent[key] = pick(garbage);
  else if (op === "add-key" && !Array.isArray(parent)) {
    parent[pick(["extra", "agrv", "filesytem", "nofiles", String(key) + "_"])] = pick(garbage);
  } else if (Array.isArray(parent)) parent.push(parent[key as number] ?? null);
  return value;
}

Deno.test(`${ROUNDS} mutated policies: no crash, every problem located`, async () => {
  using dir = tempDir();
  const random = prng(20261123);
  let rejected = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const seedFile = SEEDS[round % SEEDS.length];
    const text = Deno.readTextFileSync(seedFile);
    let mutated: string;
    if (round % 10 === 9) {
      // Text-level damage: cut the file at a random point, or repeat a random line.
      const lines = text.split("\n");
      const at = Math.floor(random() * lines.length);
      mutated = random() < 0.5
        ? text.slice(0, Math.floor(random() * text.length))
        : [...lines.slice(0, at + 1), lines[at], ...lines.slice(at + 1)].join("\n");
    } else {
      mutated = stringify(mutate(parse(text), random));
    }
    const file = `${dir}/m${round}.yaml`;
    Deno.writeTextFileSync(file, mutated);
    const lineCount = mutated.split("\n").length;
    try {
      await loadPolicy(file);
    } catch (e) {
      assert.ok(
        e instanceof PolicyError,
        `round ${round} crashed: ${(e as Error).stack}\n--- policy:\n${mutated}`,
      );
      rejected++;
      for (const d of e.diagnostics) {
        assert.ok(d.message.length > 0, `round ${round}: empty message`);
        assert.ok(
          Number.isInteger(d.line) && Number.isInteger(d.col) && d.line >= 1 && d.col >= 1,
          `round ${round}: bad location ${JSON.stringify(d)}`,
        );
        if (d.file === file) {
          assert.ok(
            d.line <= lineCount + 1,
            `round ${round}: line ${d.line} past the end:\n${mutated}`,
          );
        } else {assert.ok(
            d.file.startsWith("builtin:") || d.file.startsWith(ROOT) ||
              d.file.startsWith(String(dir)),
            `round ${round}: unexpected file ${d.file}`,
          );}
      }
    }
  }
  // Most mutations must be caught; a run where nearly all pass would mean a dead mutator.
  assert.ok(rejected > ROUNDS / 2, `only ${rejected} of ${ROUNDS} mutations were rejected`);
});
