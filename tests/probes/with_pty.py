"""Runs a command as a session leader whose controlling terminal is a fresh pty.

    /usr/bin/python3 with_pty.py CMD [ARGS...]

The command's stdin is the pty's slave side (its controlling terminal); stdout and
stderr are inherited. Exits with the command's status. Used by the TIOCSTI test: a
sandboxed child that can still push input into its launcher's terminal could type
commands into the user's shell after the sandbox exits.
"""
import fcntl
import os
import pty
import subprocess
import sys
import termios


def main() -> int:
    master, slave = pty.openpty()

    def become_session_leader() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    child = subprocess.Popen(sys.argv[1:], stdin=slave, preexec_fn=become_session_leader)
    os.close(slave)
    status = child.wait()
    os.close(master)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
