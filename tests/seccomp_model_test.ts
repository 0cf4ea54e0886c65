/** The independent seccomp model (tests/seccomp_model.ts) checked on its own. */
import assert from "node:assert/strict";
import {
  ENOSYS,
  retErrno,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
} from "../compiler/seccomp/actions.ts";
import type { SeccompPolicy } from "../compiler/seccomp/resolve_policy.ts";
import { expectedReturn } from "./seccomp_model.ts";

Deno.test({
  name: "the model itself: arch, x32, unknown numbers, rules, deny over allow",
  fn: () => {
    const policy: SeccompPolicy = {
      default: { errno: "EACCES" },
      allow: ["read", "ioctl", "chmod"],
      deny: ["chmod"],
      rules: [{ syscall: "ioctl", args: [{ arg: 1, op: "eq", value: "TIOCSTI" }], action: "trap" }],
    };
    const x86 = 0xc000003e;
    const r = (nr: number, args: bigint[] = [], arch = x86) =>
      expectedReturn(policy, "x86_64", { nr, arch, args });
    assert.equal(r(0), SECCOMP_RET_ALLOW);
    assert.equal(r(0, [], 0xc00000b7), SECCOMP_RET_KILL_PROCESS);
    assert.equal(r(0x40000000), SECCOMP_RET_KILL_PROCESS);
    assert.equal(r(-1), retErrno(ENOSYS));
    assert.equal(r(400), retErrno(ENOSYS));
    assert.equal(r(1), retErrno(13));
    assert.equal(r(90), retErrno(13)); // chmod denied: deny_action = default (EACCES)
    assert.equal(r(16, [0n, 0x5412n]), 0x00030000);
    assert.equal(r(16, [0n, (1n << 32n) | 0x5412n]), 0x00030000); // cmd is an unsigned int
    assert.equal(r(16, [0n, 0x5413n]), SECCOMP_RET_ALLOW);
    assert.equal(r(435), retErrno(ENOSYS)); // clone3
  },
});
