#!/usr/bin/env python3
"""examples/echo-check.py: meson's test of the echo example
(examples/echo-server.c), with an external client: Python's socket module.

    python3 echo-check.py ECHO-SERVER [--threads N]

Starts the server on 127.0.0.1 and a free port, waits for its "listening
on HOST:PORT" line, then checks that:

- a short message comes back byte for byte;
- several connections at once each get their own bytes back;
- 4 MiB sent by one thread while another reads come back intact (more
  than the server's water mark, so reading pauses and resumes on the way);
- 1 MiB sent without reading, then the write side shut, comes back in
  full followed by the end of the stream (the server shuts down after its
  queued echoes, not before);
- SIGINT with a connection still open makes the server close it and exit
  with status 0.

Every wait is bounded; the server is killed if it overstays. Exits 0 when
every check passed.
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

STEP_TIMEOUT_S = 20


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def start_server(argv):
    """Start the server and return (process, port) once it listens."""
    proc = subprocess.Popen(argv + ["--port", "0"], stdout=subprocess.PIPE,
                            stderr=sys.stderr, text=True)
    found = {}

    def read_line():
        found["line"] = proc.stdout.readline()

    reader = threading.Thread(target=read_line, daemon=True)
    reader.start()
    reader.join(STEP_TIMEOUT_S)
    line = found.get("line", "")
    if not line.startswith("listening on "):
        proc.kill()
        proc.wait()
        fail("no 'listening on' line from the server (got %r)" % line)
    return proc, int(line.strip().rsplit(":", 1)[1])


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port),
                                    timeout=STEP_TIMEOUT_S)
    sock.settimeout(STEP_TIMEOUT_S)
    return sock


def recv_exactly(sock, count):
    chunks, got = [], 0
    while got < count:
        chunk = sock.recv(min(count - got, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def pattern(count, seed):
    """count bytes that differ from one connection to the next."""
    block = bytes((seed * 7 + i * 13) % 251 for i in range(4096))
    return (block * (count // len(block) + 1))[:count]


def check_short(port):
    with connect(port) as sock:
        sock.sendall(b"hello, axle\n")
        if recv_exactly(sock, 12) != b"hello, axle\n":
            fail("a short message did not come back")


def check_many(port):
    socks = [connect(port) for _ in range(20)]
    try:
        for i, sock in enumerate(socks):
            sock.sendall(pattern(1000 + i, i))
        for i, sock in enumerate(socks):
            if recv_exactly(sock, 1000 + i) != pattern(1000 + i, i):
                fail("connection %d got someone else's bytes" % i)
    finally:
        for sock in socks:
            sock.close()


def check_large(port):
    data = pattern(4 << 20, 3)
    with connect(port) as sock:
        sender = threading.Thread(target=sock.sendall, args=(data,),
                                  daemon=True)
        sender.start()
        back = recv_exactly(sock, len(data))
        sender.join(STEP_TIMEOUT_S)
        if back != data:
            fail("4 MiB came back as %d bytes, or changed" % len(back))


def check_half_close(port):
    data = pattern(1 << 20, 5)

    def send_then_shut(sock):
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    with connect(port) as sock:
        sender = threading.Thread(target=send_then_shut, args=(sock,),
                                  daemon=True)
        sender.start()
        # Let the server's write queue fill while nothing is read, so that
        # the end of input may find echoes still queued.
        time.sleep(0.2)
        back = bytearray()
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            back += chunk
        sender.join(STEP_TIMEOUT_S)
        if bytes(back) != data:
            fail("1 MiB then a half-close came back as %d bytes, or changed"
                 % len(back))


def check_sigint(proc, port):
    idle = connect(port)
    idle.sendall(b"x")
    if recv_exactly(idle, 1) != b"x":
        fail("the idle connection did not answer")
    proc.send_signal(signal.SIGINT)
    try:
        status = proc.wait(STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        fail("the server did not exit within %d s of SIGINT" % STEP_TIMEOUT_S)
    if status != 0:
        fail("the server exited with status %d after SIGINT" % status)
    if idle.recv(1) != b"":
        fail("the open connection was not closed")
    idle.close()


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    proc, port = start_server(sys.argv[1:])
    try:
        check_short(port)
        check_many(port)
        check_large(port)
        check_half_close(port)
        check_sigint(proc, port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print("echo-check: every check passed (%s)" %
          os.environ.get("AX_BACKEND", "default backend"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
