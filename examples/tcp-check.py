#!/usr/bin/env python3
"""examples/tcp-check.py: meson's test of the two TCP rungs of the example
ladder, examples/tcp-echo.c and examples/tcp-client.c, against each other.

    python3 tcp-check.py TCP-ECHO TCP-CLIENT

Starts tcp-echo on 127.0.0.1 and a port the kernel picks (argument 0),
waits for its "listening on 127.0.0.1:PORT" line, then runs tcp-client
against it with the default message, a message of 60,000 bytes (more than
one read on either side), and several clients at once; each must exit 0
and print its echo. Then checks that tcp-client reports a refused
connection and exits 1. The server is killed at the end: it runs until
killed, as a server does. Every wait is bounded. Exits 0 when every check
passed.
"""
import socket
import subprocess
import sys
import threading

STEP_TIMEOUT_S = 20


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def start_server(echo):
    proc = subprocess.Popen([echo, "0"], stdout=subprocess.PIPE, text=True)
    found = {}
    reader = threading.Thread(
        target=lambda: found.update(line=proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(STEP_TIMEOUT_S)
    line = found.get("line", "")
    if not line.startswith("listening on 127.0.0.1:"):
        proc.kill()
        proc.wait()
        fail("no 'listening on' line from tcp-echo (got %r)" % line)
    return proc, int(line.strip().rsplit(":", 1)[1])


def run_client(client, port, *message):
    return subprocess.run([client, "127.0.0.1", str(port)] + list(message),
                          capture_output=True, text=True,
                          timeout=STEP_TIMEOUT_S)


def check_echo(client, port, message=None):
    args = [] if message is None else [message]
    result = run_client(client, port, *args)
    expected = "echoed: %s\n" % ("hello, axle" if message is None else message)
    if result.returncode != 0 or result.stdout != expected:
        fail("tcp-client %s: exit %d, stdout %r, stderr %r" % (
            "default" if message is None else "%d bytes" % len(message),
            result.returncode, result.stdout[:80], result.stderr))


def free_port():
    """A port nothing listens on: bound, then closed, never listened."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main():
    echo, client = sys.argv[1], sys.argv[2]
    server, port = start_server(echo)
    try:
        check_echo(client, port)
        check_echo(client, port, "x" * 60000)
        errors = []

        def one(i):
            try:
                check_echo(client, port, "client %d" % i)
            except SystemExit:
                errors.append(i)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(STEP_TIMEOUT_S)
        if errors:
            fail("concurrent clients failed: %r" % errors)
        if server.poll() is not None:
            fail("tcp-echo exited with %d" % server.returncode)
    finally:
        server.kill()
        server.wait()

    refused = run_client(client, free_port())
    if refused.returncode != 1 or "connect" not in refused.stderr:
        fail("tcp-client against a closed port: exit %d, stderr %r" % (
            refused.returncode, refused.stderr))
    print("tcp-echo and tcp-client: every check passed")


if __name__ == "__main__":
    main()
