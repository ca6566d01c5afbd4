#!/usr/bin/env python3
"""Serial-port stand-in for tests: opens a pseudo-terminal in raw mode,
prints the path of its serial side, and relays bytes between it and an
emulated Meshtastic device's TCP port, so `okmesh node --radio serial:PATH`
exercises the real serial code path (termios, wake bytes) without hardware.

    serial_pty_bridge.py HOST PORT

Exits when either side closes, or after 60 s without traffic.
"""

import os
import pty
import select
import socket
import sys
import tty


def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    master, slave = pty.openpty()
    tty.setraw(slave)
    sock = socket.create_connection((host, port), timeout=10)
    print(os.ttyname(slave), flush=True)
    while True:
        ready, _, _ = select.select([master, sock], [], [], 60)
        if not ready:
            return 0
        if master in ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # the serial side was closed
                return 0
            if not data:
                return 0
            sock.sendall(data)
        if sock in ready:
            data = sock.recv(4096)
            if not data:
                return 0
            os.write(master, data)


if __name__ == "__main__":
    sys.exit(main())
