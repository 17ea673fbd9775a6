#!/usr/bin/env python3
"""examples/workers/workers-check.py: meson's test of the worker-loops
example, with real clients.

    python3 workers-check.py WORKERS-PROGRAM

It runs the server twice on 127.0.0.1 and a free port, once with /hash on
worker loops (--workers 3) and once on the thread pool (--hash pool), and
checks each time, with Python's http.client (and curl, when installed):

- "/" answers; /hash?n=N gives the value the mixing function gives here;
  bad queries get 400, methods other routes take 405, others 501;
- /metrics shows the loop delay and the pool lanes, and the jobs each
  worker ran (spread over all of them, in turn); ?reset=1 empties the
  histograms;
- clients hashing in parallel while another keeps asking for "/": every
  answer right;
- a client that leaves before its hash is done: the server lives on;
- SIGTERM drains it, and the exit status is 0.

Every wait is bounded; the server is killed if it overstays.
"""
import http.client
import os
import shutil
import signal
import subprocess
import sys
import threading

STEP_TIMEOUT_S = 20
MASK = (1 << 64) - 1


def hash_rounds(n):
    """routes.c's mixing function."""
    x = 0x9E3779B97F4A7C15
    for i in range(n):
        x ^= x >> 30
        x = (x * 0xBF58476D1CE4E5B9) & MASK
        x ^= x >> 27
        x = (x + i) & MASK
    return "%016x\n" % x


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def start(program, args):
    proc = subprocess.Popen([program, "--port", "0"] + args,
                            stdout=subprocess.PIPE, text=True)
    line = [None]

    def read_first():
        line[0] = proc.stdout.readline()

    reader = threading.Thread(target=read_first, daemon=True)
    reader.start()
    reader.join(STEP_TIMEOUT_S)
    if not line[0] or not line[0].startswith("listening on "):
        proc.kill()
        fail("no 'listening on' line: %r" % line[0])
    port = int(line[0].strip().rsplit(":", 1)[1])
    # Drain the rest of its output so that it never blocks on a full pipe.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, port


def get(port, path, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", port,
                                      timeout=STEP_TIMEOUT_S)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def expect(port, path, status, body=None, method="GET"):
    got_status, got_body = get(port, path, method)
    if got_status != status:
        fail("%s %s: status %d, wanted %d" % (method, path, got_status,
                                              status))
    if body is not None and got_body != body:
        fail("%s %s: %r, wanted %r" % (method, path, got_body, body))
    return got_body


def metrics(port, query=""):
    """The /metrics rows: name -> list of numbers."""
    rows = {}
    for line in expect(port, "/metrics" + query, 200).splitlines():
        if not line or line.startswith("#") or line.startswith("histogram"):
            continue
        parts = line.split()
        rows[parts[0]] = [int(p) for p in parts[1:]]
    for name in ["loop_delay", "pool_user_wait", "pool_user_run",
                 "pool_fs_wait", "pool_dns_run"]:
        if name not in rows or len(rows[name]) != 5:
            fail("/metrics has no row %s: %r" % (name, rows))
    return rows


def check_basics(port):
    expect(port, "/", 200, "Hello, World!")
    for n in [0, 1, 1000, 54321]:
        expect(port, "/hash?n=%d" % n, 200, hash_rounds(n))
    for bad in ["/hash", "/hash?n=", "/hash?n=abc", "/hash?n=-1",
                "/hash?n=2000000000", "/hash?m=5"]:
        expect(port, bad, 400)
    expect(port, "/hash?n=5", 405, method="POST")
    expect(port, "/metrics", 405, method="PUT")
    expect(port, "/metrics", 501, method="DELETE")  # No route takes it.
    expect(port, "/metrics?reset=2", 400)
    expect(port, "/nothing-here", 404)
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "--max-time",
                              str(STEP_TIMEOUT_S),
                              "http://127.0.0.1:%d/hash?n=777" % port],
                             capture_output=True, text=True, check=False)
        if out.stdout != hash_rounds(777):
            fail("curl /hash: %r %r" % (out.stdout, out.stderr))
        out = subprocess.run(["curl", "-sS", "--max-time",
                              str(STEP_TIMEOUT_S),
                              "http://127.0.0.1:%d/metrics" % port],
                             capture_output=True, text=True, check=False)
        if "loop_delay" not in out.stdout:
            fail("curl /metrics: %r %r" % (out.stdout, out.stderr))


def check_parallel(port):
    """Four clients hash while a fifth asks for "/" over and over."""
    errors = []
    done = threading.Event()
    rounds = 3000000

    def hasher():
        try:
            for _ in range(4):
                status, body = get(port, "/hash?n=%d" % rounds)
                if status != 200 or len(body) != 17:
                    errors.append("hash: %d %r" % (status, body))
        except OSError as e:
            errors.append("hash: %s" % e)

    def greeter():
        count = 0
        try:
            while not done.is_set() and count < 10000:
                status, body = get(port, "/")
                if status != 200 or body != "Hello, World!":
                    errors.append("hello: %d %r" % (status, body))
                count += 1
        except OSError as e:
            errors.append("hello: %s" % e)

    hashers = [threading.Thread(target=hasher) for _ in range(4)]
    hello = threading.Thread(target=greeter)
    hello.start()
    for t in hashers:
        t.start()
    for t in hashers:
        t.join(STEP_TIMEOUT_S * 3)
    done.set()
    hello.join(STEP_TIMEOUT_S)
    if errors or any(t.is_alive() for t in hashers):
        fail("parallel clients: %r" % errors[:5])
    expect(port, "/hash?n=%d" % 1000, 200, hash_rounds(1000))


def check_client_leaves(port):
    """A client asks for a long hash and closes at once."""
    conn = http.client.HTTPConnection("127.0.0.1", port,
                                      timeout=STEP_TIMEOUT_S)
    conn.request("GET", "/hash?n=20000000")
    conn.close()
    expect(port, "/", 200, "Hello, World!")
    expect(port, "/hash?n=3", 200, hash_rounds(3))


def check_metrics(port, pool, hashes):
    rows = metrics(port)
    if rows["loop_delay"][0] < 1:
        fail("no loop delay recorded: %r" % rows["loop_delay"])
    count, p50, p90, p99, top = rows["loop_delay"]
    if not p50 <= p90 <= p99 <= top:
        fail("loop delay percentiles out of order: %r" % rows["loop_delay"])
    jobs = [v[0] for k, v in rows.items() if k.startswith("worker_")]
    if pool:
        if rows["pool_user_run"][0] < hashes:
            fail("pool lane ran %d of %d hashes" %
                 (rows["pool_user_run"][0], hashes))
        if rows["pool_user_wait"][0] != rows["pool_user_run"][0]:
            fail("pool lane wait and run counts differ: %r" % rows)
    else:
        if rows["pool_user_run"][0] != 0:
            fail("worker loops used the pool: %r" % rows["pool_user_run"])
        if len(jobs) != 3 or sum(jobs) < hashes or min(jobs) < hashes // 4:
            fail("jobs per worker: %r for %d hashes" % (jobs, hashes))
    metrics(port, "?reset=1")
    rows = metrics(port)
    if rows["pool_user_run"][0] != 0 or rows["loop_delay"][0] > 10:
        fail("?reset=1 left %r" % rows)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(STEP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("no exit after SIGTERM")
    if code != 0:
        fail("exit status %d after SIGTERM" % code)


def run(program, args, pool):
    proc, port = start(program, args)
    try:
        check_basics(port)
        check_parallel(port)
        check_client_leaves(port)
        # 4 + 16 + 2 + curl's 1 hashes answered (a client that left may
        # or may not have been counted).
        hashes = 4 + 16 + 2 + (1 if shutil.which("curl") else 0)
        check_metrics(port, pool, hashes)
    except BaseException:
        proc.kill()
        raise
    stop(proc)
    print("ok: %s" % " ".join(args), flush=True)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    program = sys.argv[1]
    run(program, ["--workers", "3"], pool=False)
    run(program, ["--hash", "pool"], pool=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
