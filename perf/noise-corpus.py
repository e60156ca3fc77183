#!/usr/bin/env python3
"""Writes a NAB-layout corpus of pure noise (no anomaly windows) for measuring false alarms.

    python3 perf/noise-corpus.py /tmp/noise [SECONDS] [FILES]  # FILES (32) x 20,000 points, every SECONDS (60)
    dotnet run -c Release --project tools/Horizon.Nab -- --data /tmp/noise --out /tmp/noise-results --detectors ensemble
    python3 perf/noise-corpus.py --count /tmp/noise-results/ensemble 0.29 [SECONDS]

Half the files are Gaussian noise (100 + 5 N(0,1)), half are rounded down to integers like a
counter (floor(c + 5 N(0,1))). --count prints the rows scored at or above the threshold after
each file's first 1440 (the window's history), per judgement and per metric-day at SECONDS.
"""
import csv, datetime, glob, json, os, random, sys

def write(root, interval=60, files=32, points=20000, seed=7):
    rng = random.Random(seed)
    os.makedirs(f"{root}/data/synthetic", exist_ok=True)
    start = datetime.datetime(2025, 1, 1)
    windows = {}
    for f in range(files):
        name = f"noise_{f}.csv"
        with open(f"{root}/data/synthetic/{name}", "w") as out:
            out.write("timestamp,value\n")
            for i in range(points):
                t = start + datetime.timedelta(seconds=interval * i)
                g = rng.gauss(0, 1)
                v = 100 + 5 * g if f % 2 == 0 else int(20 + f * 7 + 5 * g)
                out.write(f"{t:%Y-%m-%d %H:%M:%S},{v}\n")
        windows[f"synthetic/{name}"] = []
    json.dump(windows, open(f"{root}/combined_windows.json", "w"))
    json.dump({k: [] for k in windows}, open(f"{root}/combined_labels.json", "w"))

def count(results, threshold, interval):
    flagged = judged = 0
    for path in glob.glob(f"{results}/*/*.csv"):
        rows = list(csv.DictReader(open(path)))[1440:]
        judged += len(rows)
        flagged += sum(1 for r in rows if float(r["anomaly_score"]) >= threshold)
    print(f"{flagged} of {judged} judgements at or above {threshold}: "
          f"{flagged / judged:.2e} per judgement, {flagged / judged * 86400 / interval:.3f} per metric-day at {interval} s")

if __name__ == "__main__":
    if sys.argv[1] == "--count":
        count(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 60)
    else:
        write(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 60, int(sys.argv[3]) if len(sys.argv) > 3 else 32)
