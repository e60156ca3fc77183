"""What graphite-web itself (Debian's graphite-web) renders for targets over given points.

Reads JSON on stdin: {"dir": a scratch directory, "from": unix s, "until": unix s,
"series": {name: {"step": s, "points": [[t, v], ...]}}, "targets": [...], "maxDataPoints": n or
null}; writes each series into a whisper file of that step (as carbon-cache would), evaluates
every target with graphite-web's own evaluator and functions, renders it with graphite-web's own
JSON renderer (maxDataPoints included), and prints {target: that JSON} (or {"error": ...} for a
target graphite-web refuses); and for each of "finds" (patterns), the nodes graphite-web's finder
lists: {"render": {...}, "find": {query: [{path, leaf}]}}.
"""
import json
import os
import sys
import warnings
from datetime import datetime, timezone

warnings.simplefilter("ignore")
request = json.load(sys.stdin)
data_dir = os.path.join(request["dir"], "whisper")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "graphite.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.STANDARD_DIRS = [data_dir]
settings.STORAGE_FINDERS = ("graphite.finders.standard.StandardFinder",)
settings.CLUSTER_SERVERS = []
settings.CARBONLINK_HOSTS = []
settings.TAGDB = None
settings.LOG_DIR = request["dir"]
django.setup()

import whisper  # noqa: E402
from graphite.render.evaluator import evaluateTarget  # noqa: E402
from graphite.render.views import renderViewJson  # noqa: E402

for name, s in request["series"].items():
    path = os.path.join(data_dir, *name.split(".")) + ".wsp"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    whisper.create(path, [(s["step"], 3 * 86400 // s["step"])], xFilesFactor=0, aggregationMethod="average")
    whisper.update_many(path, [(t, v) for t, v in s["points"]])

context = {
    "startTime": datetime.fromtimestamp(request["from"], timezone.utc),
    "endTime": datetime.fromtimestamp(request["until"], timezone.utc),
    "now": datetime.fromtimestamp(request["until"], timezone.utc),
    "localOnly": False,
    "data": [],
    "prefetched": {},
    "tzinfo": timezone.utc,
    "xFilesFactor": 0,
}
options = {"maxDataPoints": request["maxDataPoints"]} if request.get("maxDataPoints") else {}
result = {}
for target in request["targets"]:
    try:
        series = evaluateTarget(dict(context, prefetched={}), target)
        result[target] = json.loads(renderViewJson(options, series).content)
    except Exception as e:  # graphite-web refused it: say so rather than fail the others
        result[target] = {"error": "%s: %s" % (type(e).__name__, e)}
# /metrics/find: graphite-web's own finder over the same whisper tree.
from graphite.storage import STORE  # noqa: E402

finds = {}
for query in request.get("finds", []):
    nodes = STORE.find(query, local=True)
    finds[query] = sorted([{"path": n.path, "leaf": bool(n.is_leaf)} for n in nodes], key=lambda n: (n["path"], n["leaf"]))
json.dump({"render": result, "find": finds}, sys.stdout)
