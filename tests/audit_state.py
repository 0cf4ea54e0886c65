"""Reads or sets the kernel audit's `enabled` flag and backlog limit (AUDIT_GET / AUDIT_SET
over netlink).

Usage: python3 tests/audit_state.py [ENABLED BACKLOG_LIMIT]; prints "ENABLED BACKLOG_LIMIT
LOST" as they are afterwards. Tests that read Landlock's denial records switch audit on
for one launch and restore what they found.
"""

import socket
import struct
import sys

AUDIT_GET, AUDIT_SET = 1000, 1001
AUDIT_STATUS_ENABLED, AUDIT_STATUS_BACKLOG_LIMIT = 1, 16
NLM_F_REQUEST, NLM_F_ACK = 1, 4


def request(sock, kind, payload=b""):
    sock.send(struct.pack("=IHHII", 16 + len(payload), kind, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + payload)
    while True:
        data = sock.recv(8192)
        (reply,) = struct.unpack("=H", data[4:6])
        if reply == 2:  # NLMSG_ERROR: 0 is the ACK
            (err,) = struct.unpack("=i", data[16:20])
            if err:
                sys.exit(f"audit request {kind} failed: errno {-err}")
            if kind != AUDIT_GET:
                return None
        elif reply == AUDIT_GET:
            # struct audit_status { mask, enabled, failure, pid, rate_limit, backlog_limit, lost, … }
            status = struct.unpack("=7I", data[16:44])
            return f"{status[1]} {status[5]} {status[6]}"


sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)
sock.bind((0, 0))
if len(sys.argv) == 3:
    enabled, backlog = int(sys.argv[1]), int(sys.argv[2])
    mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_BACKLOG_LIMIT
    request(sock, AUDIT_SET, struct.pack("=10I", mask, enabled, 0, 0, 0, backlog, 0, 0, 0, 0))
print(request(sock, AUDIT_GET))
