#!/usr/bin/env python3
"""A carbon destination that reads and counts, for measuring forwarding (perf/ab-ingest.sh with
NEW_ARGS=--Forward:Destinations:0=127.0.0.1:PORT): every connection's bytes are read and their
newlines counted; the total is printed when it is stopped (SIGTERM or Ctrl-C).
    perf/carbon-sink.py [port]     (default 2203)"""
import asyncio
import signal
import sys

lines = 0


async def handle(reader, writer):
    global lines
    while True:
        chunk = await reader.read(1 << 20)
        if not chunk:
            break
        lines += chunk.count(b"\n")
    writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    print(f"carbon-sink: {lines} lines", flush=True)


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2203))
