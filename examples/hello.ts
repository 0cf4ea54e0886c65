// A TypeScript policy: `deno check` type-checks it against the policy schema's input type.
import { definePolicy } from "../mod.ts";

export default definePolicy({
  version: 1,
  name: "hello-ts",
  description: "the hello example, written in TypeScript",
  target: {
    exe: "/usr/bin/printf",
    argv: ["printf", "hello from %s\\n", "a TypeScript policy"],
    cwd: "/tmp",
  },
  env: { set: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" } },
});
