/**
 * The policy language (v1) as a valibot schema: the single source of truth for what a
 * policy may contain. `types.ts` documents the resulting types; a compile-time check
 * below keeps the two identical.
 *
 * @module
 */
import * as v from "npm:valibot@1.5.0";
import { CAPABILITIES } from "./capabilities.ts";
import { quoteValue } from "./diagnostic.ts";
import { NETWORK_PROTOCOLS } from "./network_protocols.ts";
import { closest } from "./suggest.ts";
import type { Policy, PolicyInput } from "./types.ts";
import { type Parsed, parseDuration, parsePercent, parseSize } from "./units.ts";

type Received = { input: unknown; received: string };

/** A message `what (expected …, got …)` for a valibot check, quoting a prefix of the input. */
function problem(what: string, expected: string): (issue: Received) => string {
  return (issue: Received) =>
    `${what} (expected ${expected}, got ${
      issue.input === undefined ? issue.received : quoteValue(issue.input)
    })`;
}

const noNul = (what: string) =>
  v.check((s: string) => !s.includes("\0"), `${what} cannot contain a NUL byte`);

/** An absolute path without NUL bytes. */
const AbsolutePath = v.pipe(
  v.string(),
  v.startsWith("/", problem("not an absolute path", "a path starting with /")),
  noNul("a path"),
);

/** The normalized form of an absolute path: no empty, `.` or `..` parts, no trailing `/`. */
function normalizedPath(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") out.pop();
    else if (part !== "" && part !== ".") out.push(part);
  }
  return "/" + out.join("/");
}

/** An absolute, normalized path: a mount target in the filesystem view. */
const ViewPath = v.pipe(
  AbsolutePath,
  v.check(
    // A relative path is reported once, as not absolute.
    (s: string) => !s.startsWith("/") || normalizedPath(s) === s,
    (issue) =>
      `not a normalized path (expected no "//", ".", ".." or trailing "/", got ${
        quoteValue(issue.input)
      }; did you mean ${quoteValue(normalizedPath(String(issue.input)))}?)`,
  ),
);

/** Largest `filesystem.files` content: the files live in the view's root tmpfs. */
const FILE_CONTENT_LIMIT = 1024 * 1024;

const EnvName = v.pipe(
  v.string(),
  v.regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    problem("not an environment variable name", "letters, digits and _"),
  ),
);

const Port = v.pipe(
  v.number(),
  v.integer(problem("not a port number", "a whole number from 0 to 65535")),
  v.minValue(0, problem("not a port number", "a whole number from 0 to 65535")),
  v.maxValue(65535, problem("not a port number", "a whole number from 0 to 65535")),
);

const Id = v.pipe(
  v.number(),
  v.integer(problem("not an id", "a whole number")),
  v.minValue(0, problem("not an id", "0 or more")),
  v.maxValue(4294967294, problem("not an id", "at most 4294967294")),
);

/** A number with a unit, parsed by one of the `units.ts` parsers into a whole number. */
function quantity<T extends string | number>(
  input: v.GenericSchema<T, T>,
  parse: (x: T) => Parsed,
) {
  return v.pipe(
    input,
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const parsed = parse(dataset.value);
      if ("error" in parsed) {
        addIssue({ message: parsed.error });
        return NEVER;
      }
      return parsed.value;
    }),
  );
}

const Size = quantity(
  v.union([v.number(), v.string()], problem("wrong type", 'a number or a size like "512MiB"')),
  parseSize,
);
const Duration = quantity(
  v.union([v.number(), v.string()], problem("wrong type", 'a number or a duration like "30s"')),
  parseDuration,
);
const Count = v.pipe(
  v.number(),
  v.integer(problem("not a count", "a whole number")),
  v.minValue(0, problem("not a count", "0 or more")),
);

/** `filesystem.tmp`: a size, or false for no private /tmp. */
const TmpSize = v.pipe(
  v.union(
    [v.literal(false), v.number(), v.string()],
    problem("wrong type", 'false or a size like "64MiB"'),
  ),
  v.rawTransform(({ dataset, addIssue, NEVER }): false | number => {
    if (dataset.value === false) return false;
    const parsed = parseSize(dataset.value);
    if ("error" in parsed) {
      addIssue({ message: parsed.error });
      return NEVER;
    }
    return parsed.value;
  }),
);

const Capability = v.pipe(
  v.string(),
  v.transform((
    s,
  ) => (s.toUpperCase().startsWith("CAP_") ? s.toUpperCase() : `CAP_${s.toUpperCase()}`)),
  v.check((s) => CAPABILITIES.includes(s), (issue) => {
    const guess = closest(String(issue.input), CAPABILITIES);
    return `unknown capability ${quoteValue(issue.input)}${
      guess ? ` (did you mean ${guess}?)` : ""
    }`;
  }),
);

const Protocol = v.picklist(NETWORK_PROTOCOLS, (issue) => {
  const guess = closest(String(issue.input), NETWORK_PROTOCOLS);
  return `unknown protocol ${JSON.stringify(issue.input)}${
    guess ? ` (did you mean ${guess}?)` : ` (one of ${NETWORK_PROTOCOLS.join(", ")})`
  }`;
});

const Enforce = v.picklist(
  ["required", "best_effort", "off"],
  problem("unknown enforcement level", "required, best_effort or off"),
);

const SyscallAction = v.union([
  v.picklist(["allow", "kill", "kill_process", "trap", "log"]),
  v.strictObject({
    errno: v.union([v.string(), v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(4095))]),
  }),
], problem("not a syscall action", "allow, kill, kill_process, trap, log or { errno: NAME }"));

const ArgValue = v.union([
  v.pipe(v.number(), v.integer(problem("not a whole number", "an integer or a constant name"))),
  v.string(),
], problem("wrong type", "an integer or a constant name like AF_NETLINK"));

const SyscallRule = v.strictObject({
  syscall: v.string(),
  args: v.optional(v.array(v.strictObject({
    arg: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0, problem("not an argument index", "0 to 5")),
      v.maxValue(5, problem("not an argument index", "0 to 5")),
    ),
    op: v.picklist(
      ["eq", "ne", "lt", "le", "gt", "ge", "masked_eq"],
      problem("unknown operator", "eq, ne, lt, le, gt, ge or masked_eq"),
    ),
    value: ArgValue,
    mask: v.optional(ArgValue),
  }))),
  action: SyscallAction,
});

// The list-valued grants, shared by their keys and by `remove`, which takes them away.
const EnvPass = v.optional(v.array(EnvName));
const FdsPass = v.optional(v.array(v.pipe(
  v.number(),
  v.integer(problem("not a whole number", "an fd number")),
  v.minValue(3, problem("fds 0, 1 and 2 are always kept", "a number of at least 3")),
  v.maxValue(2 ** 31 - 1, problem("fd number too large", "at most 2147483647")),
)));
const FilesystemLists = {
  read: v.optional(v.array(AbsolutePath)),
  write: v.optional(v.array(AbsolutePath)),
  exec: v.optional(v.array(AbsolutePath)),
};
const NetworkLists = {
  connect_tcp: v.optional(v.array(Port)),
  bind_tcp: v.optional(v.array(Port)),
  protocols: v.optional(v.array(Protocol)),
};
const SyscallNames = v.optional(v.array(v.string()));
const Capabilities = v.optional(v.array(Capability));

/** A whole policy file. */
export const PolicySchema = v.strictObject({
  version: v.literal(1, problem("unsupported policy version", "1")),
  name: v.pipe(
    v.string(),
    v.regex(
      /^[a-z0-9._-]+$/,
      problem("not a valid policy name", "lowercase letters, digits, '.', '_' or '-'"),
    ),
    v.maxLength(64, problem("name too long", "at most 64 characters")),
  ),
  description: v.optional(v.string()),
  extends: v.optional(
    v.array(v.pipe(v.string(), v.minLength(1, "an extends entry cannot be empty"))),
  ),
  target: v.strictObject({
    exe: AbsolutePath,
    argv: v.optional(
      v.pipe(
        v.array(v.pipe(v.string(), noNul("an argument"))),
        v.minLength(1, problem("argv is empty", "at least argv[0]")),
      ),
    ),
    cwd: v.optional(AbsolutePath),
    extra_args: v.optional(v.boolean()),
    inputs: v.optional(v.array(AbsolutePath)),
  }),
  env: v.optional(v.strictObject({
    set: v.optional(v.record(EnvName, v.pipe(v.string(), noNul("a value")))),
    pass: EnvPass,
  })),
  fds: v.optional(v.strictObject({ pass: FdsPass })),
  user: v.optional(
    v.strictObject({
      namespace: v.optional(v.boolean()),
      host_root: v.optional(v.boolean()),
      uid: v.optional(Id),
      gid: v.optional(Id),
    }),
  ),
  namespaces: v.optional(v.strictObject({
    net: v.optional(v.boolean()),
    pid: v.optional(v.boolean()),
    ipc: v.optional(v.boolean()),
    uts: v.optional(v.boolean()),
    cgroup: v.optional(v.boolean()),
  })),
  hostname: v.optional(v.pipe(
    v.string(),
    v.regex(
      /^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/,
      problem("not a hostname", "1 to 64 letters, digits, '.' or '-'"),
    ),
  )),
  filesystem: v.optional(v.strictObject({
    view: v.optional(v.picklist(["listed", "host"], problem("unknown view", "listed or host"))),
    ...FilesystemLists,
    tmp: v.optional(TmpSize),
    proc: v.optional(v.boolean()),
    dev: v.optional(
      v.picklist(
        ["minimal", "terminal", "none"],
        problem("unknown dev", "minimal, terminal or none"),
      ),
    ),
    files: v.optional(v.record(
      ViewPath,
      v.strictObject({
        content: v.pipe(
          v.string(),
          v.check(
            (s) => new TextEncoder().encode(s).length <= FILE_CONTENT_LIMIT,
            problem("content too large", "at most 1 MiB"),
          ),
        ),
      }),
    )),
    mounts: v.optional(v.array(v.strictObject({
      source: ViewPath,
      target: ViewPath,
      write: v.optional(v.boolean(), false),
    }))),
    hide: v.optional(v.array(ViewPath)),
  })),
  network: v.optional(v.strictObject(NetworkLists)),
  scope: v.optional(
    v.strictObject({ signals: v.optional(v.boolean()), abstract_unix: v.optional(v.boolean()) }),
  ),
  syscalls: v.optional(v.strictObject({
    default: v.optional(SyscallAction),
    deny_action: v.optional(SyscallAction),
    allow: SyscallNames,
    deny: v.optional(v.array(v.string())),
    rules: v.optional(v.array(SyscallRule)),
    unsafe_allow: SyscallNames,
  })),
  limits: v.optional(v.strictObject({
    nofile: v.optional(Count),
    nproc: v.optional(Count),
    as: v.optional(Size),
    data: v.optional(Size),
    stack: v.optional(Size),
    fsize: v.optional(Size),
    core: v.optional(Size),
    memlock: v.optional(Size),
    cpu: v.optional(Duration),
  })),
  cgroup: v.optional(v.strictObject({
    memory_max: v.optional(Size),
    pids_max: v.optional(Count),
    cpu_max: v.optional(
      quantity(v.string(problem("wrong type", 'a percentage like "50%"')), parsePercent),
    ),
  })),
  capabilities: Capabilities,
  remove: v.optional(v.strictObject({
    env: v.optional(v.strictObject({ pass: EnvPass })),
    fds: v.optional(v.strictObject({ pass: FdsPass })),
    filesystem: v.optional(v.strictObject(FilesystemLists)),
    network: v.optional(v.strictObject(NetworkLists)),
    syscalls: v.optional(v.strictObject({ allow: SyscallNames, unsafe_allow: SyscallNames })),
    capabilities: Capabilities,
  })),
  die_with_parent: v.optional(v.boolean()),
  new_session: v.optional(v.boolean()),
  enforce: v.optional(v.strictObject({
    landlock: v.optional(Enforce),
    seccomp: v.optional(Enforce),
    namespaces: v.optional(Enforce),
    cgroup: v.optional(Enforce),
  })),
  override: v.optional(v.boolean()),
});

/** True when two types are identical (not merely mutually assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

// Fail to type-check when the schema and the documented types drift apart.
const schemaInfersPolicy: Equal<v.InferOutput<typeof PolicySchema>, Policy> = true;
const schemaInfersInput: Equal<v.InferInput<typeof PolicySchema>, PolicyInput> = true;
void schemaInfersPolicy, schemaInfersInput;
