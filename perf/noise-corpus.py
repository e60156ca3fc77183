#!/usr/bin/env python3
"""Writes a NAB-layout corpus of pure noise (no anomaly windows) for measuring false alarms.

    python3 perf/noise-corpus.py /tmp/noise            # 32 files x 20,000 points at 60 s
    dotnet run -c Release --project tools/Horizon.Nab -- --data /tmp/noise --out /tmp/noise-results --detectors ensemble
    python3 perf/noise-corpus.py --count /tmp/noise-results/ensemble 0.29

Half the files are Gaussian noise (100 + 5 N(0,1)), half are rounded down to integers like a
counter (floor(c + 5 N(0,1))). --count prints the rows scored at or above the threshold after
each file's first 1440 (a day of history at 60 s) and the rate per metric-day at 10 s.
"""
import csv, datetime, glob, json, os, random, sys

def write(root, files=32, points=20000, seed=7):
    rng = random.Random(seed)
    os.makedirs(f"{root}/data/synthetic", exist_ok=True)
    start = datetime.datetime(2025, 1, 1)
    windows = {}
    for f in range(files):
        name = f"noise_{f}.csv"
        with open(f"{root}/data/synthetic/{name}", "w") as out:
            out.write("timestamp,value\n")
            for i in range(points):
                t = start + datetime.timedelta(seconds=60 * i)
                g = rng.gauss(0, 1)
                v = 100 + 5 * g if f % 2 == 0 else int(20 + f * 7 + 5 * g)
                out.write(f"{t:%Y-%m-%d %H:%M:%S},{v}\n")
        windows[f"synthetic/{name}"] = []
    json.dump(windows, open(f"{root}/combined_windows.json", "w"))
    json.dump({k: [] for k in windows}, open(f"{root}/combined_labels.json", "w"))

def count(results, threshold):
    flagged = judged = 0
    for path in glob.glob(f"{results}/*/*.csv"):
        rows = list(csv.DictReader(open(path)))[1440:]
        judged += len(rows)
        flagged += sum(1 for r in rows if float(r["anomaly_score"]) >= threshold)
    print(f"{flagged} of {judged} judgements at or above {threshold}: "
          f"{flagged / judged:.2e} per judgement, {flagged / judged * 8640:.2f} per metric-day at 10 s")

if __name__ == "__main__":
    if sys.argv[1] == "--count":
        count(sys.argv[2], float(sys.argv[3]))
    else:
        write(sys.argv[1])
