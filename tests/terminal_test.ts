/**
 * Terminals, through a real pty with the launcher in its foreground process group: the
 * child cannot push input into the launcher's terminal (TIOCSTI fails with the baseline's
 * EPERM and nothing waits in the input queue), an interactive bash keeps job control, and
 * Ctrl-C interrupts the foreground job without the launcher SIGKILLing the tree.
 */
import assert from "node:assert/strict";
import { tempDir } from "./helpers.ts";
import {
  CTRL_C,
  probePolicy,
  ptySession as session,
  type PtyStep as Step,
} from "./probes/probe.ts";

for (const [who, options] of [["root", {}], ["unprivileged", { unprivileged: true }]] as const) {
  Deno.test(`terminal (${who}): TIOCSTI fails with EPERM and nothing reaches the terminal's input`, async () => {
    using dir = tempDir();
    // The terminal stays the child's controlling terminal (no new session), as for a shell.
    const shared = "new_session: false\n";
    const denied = await session(String(dir), probePolicy(["tiocsti"], shared), [], options);
    assert.equal(denied.status, 0, denied.output);
    assert.match(denied.output, /^EPERM\r?$/m);
    assert.equal(denied.pendingInput, 0);
    // The control: with ioctl out of the baseline the child types a command line into the terminal.
    const open = await session(
      String(dir),
      probePolicy(["tiocsti"], `${shared}syscalls: { unsafe_allow: [ioctl] }\n`),
      [],
      options,
    );
    assert.match(open.output, /^ok\r?$/m);
    assert.ok(open.pendingInput > 0, "the control pushed nothing");
  });

  Deno.test(`terminal (${who}): interactive bash keeps job control; Ctrl-C interrupts the foreground job only`, async () => {
    using dir = tempDir();
    const policy = `version: 1
name: bash
extends: [builtin:base]
target:
  exe: /bin/bash
  argv: [bash, --norc, --noprofile, -i]
env:
  set: { PS1: "jc> " }
filesystem:
  exec: [/usr/bin/sleep]
new_session: false
`;
    const prompt = { expect: "jc> " };
    const interrupt: Step[] = [
      { send: "sleep 30\n" },
      { sleep: 1 },
      { send: CTRL_C },
      prompt,
    ];
    const s = await session(String(dir), policy, [
      prompt,
      { send: "[[ $- == *m* ]] && echo monitor-$((1+1))\n" },
      { expect: "monitor-2" },
      prompt,
      ...interrupt,
      ...interrupt,
      { send: "sleep 30 &\n" },
      prompt,
      { send: "jobs\n" },
      { expect: "Running\\s+sleep 30" },
      prompt,
      { send: "kill %1; echo alive-$((6*7))\n" },
      { expect: "alive-42" },
      { send: "exit 7\n" },
    ], options);
    assert.equal(s.failedStep, null, s.output);
    assert.equal(s.status, 7, s.output);
  });

  Deno.test(`terminal (${who}): Ctrl-C twice at a python REPL interrupts it twice, it is not killed`, async () => {
    using dir = tempDir();
    const policy = `version: 1
name: repl
extends: [builtin:python]
target:
  exe: /usr/bin/python3
  argv: [python3, -q, -i]
new_session: false
`;
    const interrupt: Step[] = [
      { send: "import time; time.sleep(30)\n" },
      { sleep: 1 },
      { send: CTRL_C },
      { expect: "KeyboardInterrupt" },
      { expect: ">>> " },
    ];
    const s = await session(String(dir), policy, [
      { expect: ">>> " },
      ...interrupt,
      ...interrupt,
      { send: "print(6*7)\n" },
      { expect: "42" },
      { send: "raise SystemExit(5)\n" },
    ], options);
    assert.equal(s.failedStep, null, s.output);
    assert.equal(s.status, 5, s.output);
  });

  Deno.test(`terminal (${who}): Ctrl-C ends a pid-namespace init that has no handler for it`, async () => {
    using dir = tempDir();
    // PID 1 of a pid namespace never receives a signal it has no handler for (the kernel
    // drops it, from the terminal too): the launcher carries out the default action.
    const policy = `version: 1
name: init
target:
  exe: /bin/sh
  argv: [sh, -c, "echo ready; exec sleep 60"]
user: { namespace: true }
namespaces: { pid: true }
filesystem: { exec: [/usr/bin/sleep] }
new_session: false
`;
    const s = await session(String(dir), policy, [
      { expect: "ready" },
      { sleep: 0.5 },
      { send: CTRL_C },
    ], options);
    assert.equal(s.failedStep, null, s.output);
    assert.equal(s.status, 128 + 9, s.output);
  });
}
