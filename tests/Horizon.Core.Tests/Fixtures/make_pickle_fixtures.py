#!/usr/bin/env python3
"""Writes the carbon pickle fixtures used by PickleDecoderTests.

Each fixture is one pickle payload (no length prefix) and a JSON file with the datapoints a
correct decoder must return, in order. Python 3 fixtures come from the pickle module itself,
built the way carbon-relay builds them (carbon/client.py: pickle.dumps(datapoints, protocol=2),
datapoints a list of (name, (timestamp, value)) with float timestamp and value). Python 2
fixtures are the exact bytes Python 2.7's pickle writes for the same data (Python 2 is not
installed here, so they are spelled out below opcode by opcode).

Run: python3 make_pickle_fixtures.py  (from this folder; output goes to ./pickle)
"""
import json
import os
import pickle
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pickle")

BASIC = [
    ("servers.web01.cpu.user", (1700000000.0, 12.5)),
    ("servers.web01.cpu.system", (1700000000.0, 3.0)),
    ("servers.web02.load", (1700000010.0, -0.25)),
    ("stats.counters.api.requests.count", (1700000010.0, 42.0)),
]


def write(name, payload, points):
    with open(os.path.join(OUT, name + ".pickle"), "wb") as f:
        f.write(payload)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump([[n, ts, v] for n, (ts, v) in points], f)


def py3():
    for proto in (0, 1, 2, 3, 4, 5):
        write(f"py3_protocol{proto}", pickle.dumps(BASIC, protocol=proto), BASIC)
    # carbon-relay's own shape: a batch of 500 datapoints (MAX_DATAPOINTS_PER_MESSAGE).
    batch = [(f"relay.host{i % 37}.metric{i}", (1700000000.0 + i, i * 0.5)) for i in range(500)]
    write("py3_relay_batch500", pickle.dumps(batch, protocol=2), batch)
    # The same name object twice: the second is a memo reference (BINGET).
    shared = "shared.name"
    memo = [(shared, (1700000000.0, 1.0)), (shared, (1700000060.0, 2.0))]
    write("py3_memo_reuse", pickle.dumps(memo, protocol=2), memo)
    # Integer timestamps and values, big integers (LONG1), non-ASCII names.
    ints = [("ints.small", (1700000000, 7)), ("ints.negative", (1700000000, -70000)),
            ("ints.big", (1700000000, 2**40)), ("unicode.caf\u00e9.temp", (1700000000, 21.5)),
            ("unicode.\u6e29\u5ea6", (1700000000, 1.0))]
    for proto in (0, 2):
        write(f"py3_ints_unicode_protocol{proto}", pickle.dumps(ints, protocol=proto), ints)
    # Lists instead of tuples, which carbon's unpacking also accepts.
    lists = [["as.lists", [1700000000.0, 5.0]]]
    write("py3_lists", pickle.dumps(lists, protocol=2), [("as.lists", (1700000000.0, 5.0))])


def binfloat(x):
    return b"G" + struct.pack(">d", x)


def py2():
    # Python 2.7 pickle.dumps(BASIC[:2], protocol=2): str is SHORT_BINSTRING, memo puts after
    # each str, tuple and the list, items appended with MARK ... APPENDS.
    pts = BASIC[:2]
    out = b"\x80\x02]q\x00("
    memo = 1
    for name, (ts, v) in pts:
        nb = name.encode()
        out += b"U" + bytes([len(nb)]) + nb + b"q" + bytes([memo])
        memo += 1
        out += binfloat(ts) + binfloat(v) + b"\x86q" + bytes([memo])
        memo += 1
        out += b"\x86q" + bytes([memo])
        memo += 1
    out += b"e."
    write("py2_protocol2", out, pts)

    # Python 2.7 pickle.dumps(BASIC[:2], protocol=0): text opcodes, quoted str, float repr.
    out = b"(lp0\n"
    memo = 1
    for name, (ts, v) in pts:
        out += b"(S'" + name.encode() + b"'\np%d\n" % memo
        memo += 1
        out += b"(F" + repr(ts).encode() + b"\nF" + repr(v).encode() + b"\ntp%d\n" % memo
        memo += 1
        out += b"tp%d\na" % memo
        memo += 1
    out += b"."
    write("py2_protocol0", out, pts)

    # Python 2.7 pickle.dumps(BASIC[:2], protocol=1): binary opcodes, tuples built from MARK.
    out = b"]q\x00("
    memo = 1
    for name, (ts, v) in pts:
        nb = name.encode()
        out += b"(U" + bytes([len(nb)]) + nb + b"q" + bytes([memo])
        memo += 1
        out += b"(" + binfloat(ts) + binfloat(v) + b"tq" + bytes([memo])
        memo += 1
        out += b"tq" + bytes([memo])
        memo += 1
    out += b"e."
    write("py2_protocol1", out, pts)

    # Python 2.7 protocol 0 with a long timestamp (LONG, 'L' suffix) and an escaped name.
    out = b"(lp0\n(S'it\\'s.a\\\\name'\np1\n(L1700000000L\nI42\ntp2\ntp3\na."
    write("py2_protocol0_long_escape", out, [("it's.a\\name", (1700000000, 42))])


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def malicious():
    with open(os.path.join(OUT, "evil_reduce.pickle"), "wb") as f:
        f.write(pickle.dumps([("x", (1.0, Evil()))], protocol=2))
    with open(os.path.join(OUT, "evil_global_proto0.pickle"), "wb") as f:
        f.write(pickle.dumps([Evil()], protocol=0))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    py3()
    py2()
    malicious()
