/**
 * What the proposal needs to know besides the denials: the built-in profiles a policy
 * could extend, the target's executable, and this host's home directories.
 *
 * @module
 */
import { parse } from "yaml";
import { DEFAULT_PROVENANCE } from "../policy/defaults.ts";
import { BUILTIN_PROFILES, type LoadedPolicy } from "../policy/load.ts";
import type { ProfileInfo, ProposeOptions } from "./propose.ts";

const BUILTIN_DIR = new URL("../policy/builtin/", import.meta.url);

/** A built-in profile's own read and exec paths (its `extends` add only base's). */
function profileInfo(name: string): ProfileInfo {
  const doc = parse(Deno.readTextFileSync(new URL(`${name}.yaml`, BUILTIN_DIR))) as {
    filesystem?: { read?: string[]; exec?: string[] };
    network?: { connect_tcp?: number[]; protocols?: string[] };
  };
  return {
    name: `builtin:${name}`,
    read: doc.filesystem?.read ?? [],
    exec: doc.filesystem?.exec ?? [],
    connectTcp: doc.network?.connect_tcp ?? [],
    protocols: doc.network?.protocols ?? [],
  };
}

/** Home directories from /etc/passwd, and /root. */
function homes(): string[] {
  const out = new Set(["/root"]);
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const home = line.split(":")[5];
      if (home?.startsWith("/home/") || home === "/root") out.add(home);
    }
  } catch { /* no passwd: /root and the top-level rule still hold */ }
  return [...out];
}

/**
 * The proposal options for a loaded policy: profiles it does not extend yet, its target
 * (and the target's resolution), and the host's homes.
 *
 * @example
 * ```ts ignore
 * import { proposalContext } from "./proposal_context.ts";
 * const options = proposalContext(await loadPolicy("p.yaml"));
 * ```
 */
export function proposalContext(loaded: LoadedPolicy): ProposeOptions {
  const extended = new Set(loaded.files.map((f) => f.path));
  const exe = loaded.policy.target.exe;
  let resolved = exe;
  try {
    resolved = Deno.realPathSync(exe);
  } catch { /* a missing target is reported by compile */ }
  return {
    targetExe: [...new Set([exe, resolved])],
    profiles: BUILTIN_PROFILES.filter((n) => !extended.has(`builtin:${n}`)).map(profileInfo),
    homes: homes(),
    defaulted: ["filesystem.read", "filesystem.write"].filter((key) =>
      loaded.provenance.get(key) === DEFAULT_PROVENANCE
    ),
  };
}
