#!/usr/bin/env python3
"""Sends plain log lines to Horizon's plain-text log listener at a steady rate.

    perf/log-load.py [--port 5141] [--rate 20000] [--seconds 15] [--source load]

Lines come from three shapes with varying numbers (three templates). Prints how many were sent;
compare with horizon_log_lines_total and, with a tail open, horizon_log_tail_dropped_total.
"""
import argparse, random, socket, time

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=5141)
p.add_argument("--rate", type=int, default=20000, help="lines per second")
p.add_argument("--seconds", type=int, default=15)
p.add_argument("--source", default="load")
a = p.parse_args()
shapes = ["GET /api/v1/orders/%d HTTP/1.1 200 %d %dms",
          "ERROR upstream timed out after %d ms for %d req %d",
          "job %d finished in %d ms with %d rows"]
s = socket.create_connection((a.host, a.port))
s.sendall(("source=%s\n" % a.source).encode())
start, sent = time.time(), 0
while time.time() - start < a.seconds:
    due = int((time.time() - start) * a.rate)
    if sent < due:
        n = min(due - sent, 2000)
        s.sendall("".join((random.choice(shapes) % (random.randint(0, 99999), random.randint(0, 999), random.randint(0, 999))) + "\n"
                          for _ in range(n)).encode())
        sent += n
    else:
        time.sleep(0.005)
s.close()
print("sent", sent)
