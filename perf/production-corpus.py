#!/usr/bin/env python3
"""Writes a NAB-layout corpus shaped like production metrics, for measuring alert volume (issue 20).

    python3 perf/production-corpus.py /tmp/prod [FILES] [SEED] [DAYS]   # FILES (48) x DAYS (14) at 60 s
    dotnet run -c Release --project tools/Horizon.Nab -- --data /tmp/prod --out /tmp/prod-results --detectors ensemble
    python3 perf/production-corpus.py --count /tmp/prod /tmp/prod-results/ensemble 0.29 0.31 0.32
    python3 perf/production-corpus.py --count --from-day 14 /tmp/prod /tmp/prod-results/ensemble 0.5

Eight kinds of metric, in turn, each with seeded noise and missing stretches (a collector that
stopped for a while: rows absent, as Graphite would have no points):
  daily       a day-shaped request rate (trough at night, peak in the afternoon)
  batch       a flat gauge with a nightly batch job at 01:00 lasting 20 minutes (normal: it recurs)
  weekly      daily shape, weekends at 40 % of weekdays
  counter     a raw counter (collectd-style) that grows and resets to 0 when its process restarts
  sparse      mostly 0, bursts of activity at random (disk writes, errors of a healthy service)
  latency     lognormal latencies around 120 ms, a heavy right tail
  gauge       a slowly wandering gauge (random walk with pull back to its mean: memory, queue depth)
  integer     small integer counts (jobs running), as StatsD gauges are
Every kind but the counter gets, in alternate blocks of eight files, one labelled anomaly between
day 8 and the last day: a deploy-shaped level shift
that stays (the new release is slower, or drops traffic), of 3 to 6 robust sigma of the series'
point-to-point noise, in the metric's bad direction. Its window is the hour before to three hours
after the deploy. Everything else is normal by construction.

--count prints, per threshold, the rows at or above it outside every window after each file's
first 1440 rows (the ensemble's window), as false alarms per metric-day, the incidents they make
(a metric's false alarms less than 15 minutes apart, the incidents' ResolveAfter, are one; the
metrics here are independent, so no grouping across metrics is counted), and the windows with a
row at or above it inside. --from-day D counts false alarms (and metric-days) only from day D on:
a metric's first week holds events it has no history for yet (its first weekend), which a
14-day series counts heavily and a metric's life counts once; a longer corpus (DAYS 35) counted
from day 14 is the steady state.
"""
import csv, datetime, glob, json, math, os, random, sys

DAY = 1440  # points a day at 60 s
RESOLVE = datetime.timedelta(minutes=15)  # Analyzer:Incidents:ResolveAfter
KINDS = ["daily", "batch", "weekly", "counter", "sparse", "latency", "gauge", "integer"]


def series(kind, rng, n, start):
    v = []
    level = 500.0
    total = 0.0
    for i in range(n):
        t = start + datetime.timedelta(minutes=i)
        hour = t.hour + t.minute / 60
        day_shape = 0.55 - 0.45 * math.cos(2 * math.pi * (hour - 3) / 24)  # trough at 03:00, peak at 15:00
        if kind == "daily":
            x = 1000 * day_shape + rng.gauss(0, 25)
        elif kind == "batch":
            x = 40 + rng.gauss(0, 2) + (60 if t.hour == 1 and t.minute < 20 else 0)
        elif kind == "weekly":
            x = 1000 * day_shape * (0.4 if t.weekday() >= 5 else 1.0) + rng.gauss(0, 25)
        elif kind == "counter":
            total += max(0.0, 50 * day_shape + rng.gauss(0, 3))
            if rng.random() < 1 / (3 * DAY):  # a restart every three days or so
                total = 0.0
            x = round(total)
        elif kind == "sparse":
            x = rng.expovariate(1 / 200) if rng.random() < 0.03 else 0.0
        elif kind == "latency":
            x = 120 * math.exp(rng.gauss(0, 0.25))
        elif kind == "gauge":
            level += 0.05 * (500 - level) + rng.gauss(0, 4)
            x = level
        else:  # integer
            x = max(0, round(6 + rng.gauss(0, 1.5)))
        v.append(x)
    return v


def noise_sigma(values):
    steps = sorted(abs(b - a) for a, b in zip(values, values[1:]))
    mad = steps[len(steps) // 2] if steps else 1.0
    return max(mad * 1.4826 / math.sqrt(2), 1e-6)


def shift(kind, values, at, rng):
    """A deploy: from `at` on, the level moves by 3-6 sigma of the point-to-point noise, for good."""
    k = rng.uniform(3, 6) * noise_sigma(values[:at])
    if kind == "sparse":  # a healthy service that starts erroring: bursts become constant
        for i in range(at, len(values)):
            values[i] = values[i] + 60
        return
    up = kind not in ("daily", "weekly")  # traffic drops; latency, gauges, counts rise
    factor = 1.0 if up else -1.0
    for i in range(at, len(values)):
        values[i] = values[i] + factor * k


def write(root, files=48, points=14 * DAY, seed=20261207):
    days = points // DAY
    rng = random.Random(seed)
    folder = f"{root}/data/production"
    os.makedirs(folder, exist_ok=True)
    start = datetime.datetime(2025, 3, 3)  # a Monday
    windows = {}
    for f in range(files):
        kind = KINDS[f % len(KINDS)]
        name = f"{kind}_{f}.csv"
        values = series(kind, rng, points, start)
        labelled = []
        if (f // len(KINDS)) % 2 == 0 and kind != "counter":
            at = rng.randrange(8 * DAY, (days - 1) * DAY)
            shift(kind, values, at, rng)
            t0 = start + datetime.timedelta(minutes=at)
            labelled.append([f"{t0 - datetime.timedelta(hours=1):%Y-%m-%d %H:%M:%S}.000000",
                             f"{t0 + datetime.timedelta(hours=3):%Y-%m-%d %H:%M:%S}.000000"])
        # Missing data: two stretches of 30 to 180 minutes where the collector sent nothing.
        gaps = set()
        for _ in range(2):
            g = rng.randrange(DAY, points - 200)
            gaps.update(range(g, g + rng.randrange(30, 180)))
        with open(f"{folder}/{name}", "w") as out:
            out.write("timestamp,value\n")
            for i, x in enumerate(values):
                if i in gaps:
                    continue
                t = start + datetime.timedelta(minutes=i)
                out.write(f"{t:%Y-%m-%d %H:%M:%S},{x:.6g}\n")
        windows[f"production/{name}"] = labelled
    json.dump(windows, open(f"{root}/combined_windows.json", "w"), indent=1)
    json.dump({k: [w[0] for w in v] for k, v in windows.items()}, open(f"{root}/combined_labels.json", "w"))


def count(root, results, thresholds, from_day=0):
    windows = json.load(open(f"{root}/combined_windows.json"))
    parse = lambda s: datetime.datetime.strptime(s[:19], "%Y-%m-%d %H:%M:%S")
    for threshold in thresholds:
        alarms = episodes = judged = hit = total_windows = 0
        for key, spans in windows.items():
            category, name = key.split("/")
            rows = list(csv.DictReader(open(f"{results}/{category}/{os.path.basename(results)}_{name}")))
            steady = parse(rows[0]["timestamp"]) + datetime.timedelta(days=from_day)  # day 0 is the first
            rows = rows[DAY:]
            spans = [(parse(a), parse(b)) for a, b in spans]
            total_windows += len(spans)
            found = set()
            last_alarm = None
            for r in rows:
                t = parse(r["timestamp"])
                inside = [j for j, (a, b) in enumerate(spans) if a <= t <= b]
                counted = t >= steady
                if float(r["anomaly_score"]) >= threshold:
                    if inside:
                        found.update(inside)
                    elif counted:
                        alarms += 1
                        # An incident: false alarms of the metric less than RESOLVE apart are one.
                        if last_alarm is None or t - last_alarm >= RESOLVE:
                            episodes += 1
                        last_alarm = t
                if not inside and counted:
                    judged += 1
            hit += len(found)
        days = judged / DAY
        since = f" from day {from_day}" if from_day else ""
        print(f"threshold {threshold}: {alarms} false alarms in {days:,.0f} metric-days{since} = "
              f"{alarms / days * 10000:,.1f} per 10,000 metric-days ({episodes} incidents, "
              f"{episodes / days * 10000:,.1f} per 10,000 metric-days); windows hit {hit}/{total_windows}")


if __name__ == "__main__":
    if sys.argv[1] == "--count":
        args = sys.argv[2:]
        from_day = 0
        if args[0] == "--from-day":
            from_day, args = int(args[1]), args[2:]
        count(args[0], args[1], [float(t) for t in args[2:]], from_day)
    else:
        write(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 48,
              seed=int(sys.argv[3]) if len(sys.argv) > 3 else 20261207,
              points=(int(sys.argv[4]) if len(sys.argv) > 4 else 14) * DAY)
