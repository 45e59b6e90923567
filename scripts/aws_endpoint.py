"""Runs the local AWS endpoint (moto in server mode) for airtask's tests.

Binds 127.0.0.1 on a port the kernel picks (no race for a "free" port), writes the port to the
file named by --port-file once the server accepts connections, and serves until SIGTERM/SIGINT.
This is a test fixture of the project; it is never part of airtask itself.
"""

import argparse
import os
import signal
import sys
import threading

from moto.server import ThreadedMotoServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moto_patches  # noqa: E402  (the project's patches of moto, applied before serving)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()

    moto_patches.apply_all()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
