"""Runs a command on a fresh pty, as a user at a terminal would, and drives it.

    /usr/bin/python3 pty_session.py STEPS_JSON CMD [ARGS...]

The command is a session leader whose controlling terminal is the pty (stdin, stdout and
stderr), in the terminal's foreground process group. STEPS_JSON is a list of
{"expect": REGEX}, {"send": TEXT} (e.g. "\\u0003" for Ctrl-C) and {"sleep": SECONDS}.
Prints one JSON object: the command's status, its terminal output, how many bytes wait
in the terminal's input queue when it has exited (what a sandboxed child pushed with
TIOCSTI would be typed into the user's shell), and the index of a step that timed out.
"""
import array
import fcntl
import json
import os
import re
import select
import signal
import sys
import termios
import time

TIMEOUT = 30


def main() -> int:
    steps = json.loads(sys.argv[1])
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(slave)
        os.execvp(sys.argv[2], sys.argv[2:])
    output = b""
    cursor = 0
    status = None
    failed = None

    def pump(timeout: float) -> None:
        nonlocal output, status
        ready, _, _ = select.select([master], [], [], timeout)
        if ready:
            try:
                output += os.read(master, 65536)
            except OSError:
                pass
        if status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)

    for i, step in enumerate(steps):
        if "send" in step:
            os.write(master, step["send"].encode())
        elif "sleep" in step:
            end = time.monotonic() + step["sleep"]
            while time.monotonic() < end:
                pump(end - time.monotonic())
        else:
            pattern = re.compile(step["expect"].encode())
            end = time.monotonic() + TIMEOUT
            while not (match := pattern.search(output, cursor)) and time.monotonic() < end:
                pump(0.1)
            if not match:
                failed = i
                break
            cursor = match.end()
    end = time.monotonic() + TIMEOUT
    while status is None and failed is None and time.monotonic() < end:
        pump(0.1)
    if status is None:
        os.killpg(pid, signal.SIGKILL)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    pump(0)
    pending = array.array("i", [0])
    fcntl.ioctl(slave, termios.FIONREAD, pending)
    print(json.dumps({
        "status": status,
        "output": output.decode(errors="replace"),
        "pendingInput": pending[0],
        "failedStep": failed,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
