#!/usr/bin/env python3
"""The benchmark of `snapback watch` (issue 12), as a user would see it.

    python3 benches/watch.py [SIZE] [DATA_DIR]     (defaults: 2GiB, /tmp/snapback-bench-watch-2g)

1. Batch: `watch --once` beside `scan` on the same generated tree (the gzip S3 layout of
   `snapback simulate --volume SIZE --volume-format gz`): wall clock, events/s and peak RSS
   (/usr/bin/time -v), best and median of 3 runs each, interleaved. Both use every core (2 here).
2. Steady state: `watch --state DIR --poll 1s --lateness 0s` on an empty landing directory; files of
   one stop/start pair each (a new instance per file, times increasing) are renamed in one every
   250 ms; the latency of each from landing to its alert's line in `--out`, p50 and p99. The target
   is under 1 s beyond `--poll`: a file is read once its size and mtime held still for one poll.

Writes benches/RESULTS-watch.md. Run from a checkout with `cargo build --release -p snapback` done.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "snapback")


def timed(cmd):
    """Wall seconds and peak RSS (KB) of a command, its stdout discarded."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    rss = next(int(l.split(":")[1]) for l in p.stderr.splitlines()
               if "Maximum resident set size" in l)
    return wall, rss


def batch(data):
    tree = os.path.join(data, "gz")
    if not os.path.isdir(tree):
        tree = data
    runs = {"scan": [], "watch --once": []}
    cmds = {
        "scan": [BIN, "scan", tree, "--format", "jsonl", "--quiet"],
        "watch --once": [BIN, "watch", "--once", tree, "--quiet"],
    }
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tree) for f in fs)
    for _ in range(3):
        for name, cmd in cmds.items():
            runs[name].append(timed(cmd))
    return tree, size, runs


def record(t, instance, name, rid):
    return {
        "eventVersion": "1.08", "eventTime": t, "eventSource": "ec2.amazonaws.com",
        "eventName": name, "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/eve",
                         "accountId": "111122223333"},
        "requestParameters": {"instancesSet": {"items": [{"instanceId": instance}]}},
        "responseElements": {"instancesSet": {"items": [{"instanceId": instance}]}},
        "eventID": rid,
    }


def steady(n=40, every=0.25, poll="1s"):
    tmp = tempfile.mkdtemp(prefix="sb-watch-")
    land, state, out = (os.path.join(tmp, x) for x in ("in", "state", "alerts.jsonl"))
    os.makedirs(land)
    proc = subprocess.Popen([BIN, "watch", land, "--state", state, "--out", out, "--poll", poll,
                             "--lateness", "0s", "--quiet", "--metrics",
                             os.path.join(tmp, "m.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(os.path.join(tmp, "m.json")):
        time.sleep(0.05)
    landed = {}
    seen = {}
    done = []

    def follow_out():
        # Reads --out as the alerts arrive: the time each instance's alert first appears.
        pos = 0
        while not done:
            if os.path.exists(out):
                with open(out) as f:
                    f.seek(pos)
                    for line in f:
                        now = time.perf_counter()
                        for e in json.loads(line).get("entities", []):
                            if e["id"] in landed and e["id"] not in seen:
                                seen[e["id"]] = now - landed[e["id"]]
                    pos = f.tell()
            time.sleep(0.005)

    import threading
    reader = threading.Thread(target=follow_out)
    reader.start()
    base = 1_700_000_000
    for i in range(n):
        inst = f"i-{i:017x}"
        t1 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + i * 120))
        t2 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + i * 120 + 60))
        body = json.dumps({"Records": [record(t1, inst, "StopInstances", f"s{i}"),
                                       record(t2, inst, "StartInstances", f"t{i}")]})
        tmpf = os.path.join(tmp, "incoming")
        with open(tmpf, "w") as f:
            f.write(body)
        landed[inst] = time.perf_counter()
        os.rename(tmpf, os.path.join(land, f"{i:05d}.json"))
        time.sleep(every)
    deadline = time.perf_counter() + 30
    while len(seen) < n and time.perf_counter() < deadline:
        time.sleep(0.05)
    done.append(True)
    reader.join()
    proc.terminate()
    proc.wait()
    shutil.rmtree(tmp)
    return list(seen.values()), n


def main():
    size = sys.argv[1] if len(sys.argv) > 1 else "2GiB"
    data = sys.argv[2] if len(sys.argv) > 2 else "/tmp/snapback-bench-watch-2g"
    if not os.path.isdir(data):
        subprocess.run([BIN, "simulate", "--volume", size, "--volume-format", "gz", "--out", data],
                       check=True, stdout=subprocess.DEVNULL)
    tree, nbytes, runs = batch(data)
    with open(os.path.join(data, "manifest.json")) as f:
        manifest = json.load(f)
    records = sum(manifest.get(c, {}).get("records", 0) for c in ("aws", "azure", "gcp"))
    lat, n = steady()
    lines = ["# `snapback watch`: measured", "",
             f"Machine: {os.cpu_count()} cores; both commands use every core. Tree: `{tree}` "
             f"({nbytes / 2**20:.0f} MiB of gzip, `snapback simulate --volume {size} "
             "--volume-format gz`). Best and median of 3 runs, interleaved.", "",
             "| command | best s | median s | records/s (best) | peak RSS MB (max) |",
             "|---|---:|---:|---:|---:|"]
    for name, rs in runs.items():
        walls = sorted(r[0] for r in rs)
        lines.append(f"| `{name}` | {walls[0]:.2f} | {statistics.median(walls):.2f} | "
                     f"{records / walls[0]:,.0f} | {max(r[1] for r in rs) / 1024:.0f} |")
    ratio = min(r[0] for r in runs["watch --once"]) / min(r[0] for r in runs["scan"])
    lines += ["", f"`watch --once` / `scan` (best wall): **{ratio:.2f}x** (target: within 1.10x).", ""]
    if lat:
        lat.sort()
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        lines += [f"Steady state: {len(lat)} of {n} files alerted; landing → alert in `--out` with "
                  f"`--poll 1s`: p50 **{p(0.5):.2f} s**, p99 **{p(0.99):.2f} s** "
                  f"(target: under 1 s beyond the poll, i.e. 2 s)."]
    out = os.path.join(ROOT, "benches", "RESULTS-watch.md")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
