#!/usr/bin/env python3
"""`snapback consume` on a real Kafka broker beside `scan` of the same records (issue 14).

    python3 benches/kafka.py [--size 512MiB] [--data DIR] [--perf]

What it does, with a release build of this checkout:

1. `snapback simulate --volume SIZE --volume-format gz` writes a CloudTrail corpus (the S3 delivery
   layout, revert chains planted), and the bundled `examples/atomic` is added to it.
2. `scan` of those files: the baseline a user has without Kafka (best of 3, wall clock).
3. A real Apache Kafka 4.x (KRaft, one JVM) from `scripts/kafka-test-broker.sh` on 127.0.0.1;
   topic `audit` of 6 partitions; `snapback replay` writes every record as one message, keyed
   by account (timed too).
4. One consumer, then a group of two, each a fresh group reading the whole topic: wall clock from
   the process start to the moment its `--metrics` file shows every event read with no lag, and
   the steady rate (events between the first metrics sample with events and that moment).
   Then each consumer ends its input after 3 s idle (`--exit-when-idle 3s`: every window
   flushed) and exits; the alerts topic read back with `read_committed` (Kafka's
   ConsoleConsumer) must hold exactly `scan`'s alert ids, no (alert_id, revision) twice.
5. Recovery: a group of two with `--state`; when half the events are read, one is SIGKILLed.
   Measured: from the kill until the survivor owns all 6 partitions (the broker's session timeout,
   set here to 6 s with `--kafka session.timeout.ms=6000`, then a rebalance), the longest rebuild
   the survivor reports, and until it has read everything.
6. `--perf`: `perf record` of the single consumer, the top functions (where the time goes).

Threads: `scan` uses every core (2 here); each `consume` process decodes and detects on one
thread, plus librdkafka's own threads (fetching, producing). The broker is a JVM on the same
machine: it competes with the consumers for the two cores, as it would not in production.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "snapback")
BROKER = os.path.join(ROOT, "scripts", "kafka-test-broker.sh")
PARTITIONS = 6


def free_port():
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        c = socket.socket()
        busy = c.connect_ex(("127.0.0.1", port + 1)) == 0
        c.close()
        if not busy and port < 65000:
            return port


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def simulate(size, data):
    tree = os.path.join(data, "gz")
    if not os.path.isdir(tree):
        shutil.rmtree(data, ignore_errors=True)
        run([BIN, "simulate", "--volume", size, "--volume-format", "gz", "--out", data])
    return [tree, os.path.join(ROOT, "examples", "atomic")]


def scan(paths):
    best = None
    for _ in range(3):
        t = time.monotonic()
        out = run([BIN, "scan", *paths, "--format", "jsonl", "--show-suppressed"])
        wall = time.monotonic() - t
        best = wall if best is None else min(best, wall)
    # "N events from F files (B bytes); M records not parsed (no rule can match them)":
    # every record is N + M (the prefilter decodes only those a rule can match).
    m = re.search(r"snapback: (\d+) events from", out.stderr)
    skipped = re.search(r"(\d+) records not parsed", out.stderr)
    events = int(m.group(1)) + (int(skipped.group(1)) if skipped else 0)
    ids = {json.loads(line)["alert_id"] for line in out.stdout.splitlines() if line.strip()}
    return best, events, ids


class Consumer:
    def __init__(self, bootstrap, group, work, name, state=False, extra=()):
        self.metrics = os.path.join(work, f"{name}.metrics.json")
        self.err = open(os.path.join(work, f"{name}.stderr"), "w")
        args = [BIN, "consume", "--brokers", bootstrap, "--topic", "audit", "--group", group,
                "--alerts-topic", f"alerts-{group}", "--metrics", self.metrics, "--quiet",
                "--kafka", "session.timeout.ms=6000", "--kafka", "heartbeat.interval.ms=1000",
                *extra]
        if state:
            args += ["--state", os.path.join(work, f"{name}.state")]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.err)

    def figures(self):
        try:
            with open(self.metrics) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.err.close()


def wait_all_read(consumers, total, limit=1800):
    """Seconds from the earliest start until the group has read `total` messages with no lag;
    the steady rate from the first sample with events to then."""
    t0 = min(c.started for c in consumers)
    first = None
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        figs = [c.figures() for c in consumers if c.proc.poll() is None]
        figs = [f for f in figs if f]
        events = sum(f.get("events", 0) for f in figs)
        messages = sum(f.get("messages", 0) for f in figs)
        if events and first is None:
            first = (time.monotonic(), events)
        owned = sum(f.get("partitions", 0) for f in figs)
        lag = sum(f.get("lag", 0) for f in figs)
        if messages >= total and lag == 0 and owned == PARTITIONS:
            now = time.monotonic()
            steady = (events - first[1]) / max(now - first[0], 1e-9) if first else 0.0
            return now - t0, steady, figs
        time.sleep(0.1)
    raise SystemExit(f"the group did not read {total} events within {limit} s")


def group_run(bootstrap, port, group, n, total, work):
    """Timed to the moment everything is read; then each consumer ends its input (every
    window flushed) after 3 s idle and exits, and the alerts topic is read back."""
    cs = [Consumer(bootstrap, group, work, f"{group}-{i}", extra=("--exit-when-idle", "3s"))
          for i in range(n)]
    try:
        wall, steady, _ = wait_all_read(cs, total)
        for c in cs:
            c.proc.wait(300)
    finally:
        for c in cs:
            c.stop()
    return wall, steady, final_alerts(port, f"alerts-{group}")


def final_alerts(port, topic):
    """The alerts topic read with read_committed: (messages, final alert ids, repeats of an
    (alert_id, revision))."""
    out = subprocess.run(["bash", BROKER, "read", str(port), topic], capture_output=True,
                         text=True).stdout
    last, seen, repeats = {}, set(), 0
    lines = [line for line in out.splitlines() if line.startswith("{")]
    for line in lines:
        v = json.loads(line)
        key = (v["alert_id"], v.get("revision", 1))
        repeats += key in seen
        seen.add(key)
        if key[1] >= last.get(v["alert_id"], (0, False))[0]:
            last[v["alert_id"]] = (key[1], bool(v.get("retracted")))
    ids = {a for a, (_, retracted) in last.items() if not retracted}
    return len(lines), ids, repeats


def recovery(bootstrap, total, work):
    a = Consumer(bootstrap, "recover", work, "recover-a", state=True)
    b = Consumer(bootstrap, "recover", work, "recover-b", state=True)
    try:
        while True:
            fa, fb = a.figures() or {}, b.figures() or {}
            if fa.get("messages", 0) + fb.get("messages", 0) >= total // 2 and \
                    fa.get("partitions", 0) and fb.get("partitions", 0):
                break
            if time.monotonic() - a.started > 1800:
                raise SystemExit("recovery run: half the events not read in 1800 s")
            time.sleep(0.05)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        killed = time.monotonic()
        owned_at = None
        while time.monotonic() - killed < 600:
            f = b.figures() or {}
            if owned_at is None and f.get("partitions", 0) == PARTITIONS:
                owned_at = time.monotonic()
            if owned_at and f.get("lag", 1) == 0 and f.get("rebuilds", 0) > 0 \
                    and f.get("last_rebuild_seconds") is not None:
                done = time.monotonic()
                return {
                    "owns_all_after_s": owned_at - killed,
                    "caught_up_after_s": done - killed,
                    "longest_rebuild_s": f.get("longest_rebuild_seconds"),
                    "rebuild_messages": f.get("rebuild_messages"),
                }
            time.sleep(0.05)
        raise SystemExit("recovery run: the survivor did not take over in 600 s")
    finally:
        a.err.close()
        b.stop()


def perf_profile(bootstrap, total, work):
    c = Consumer(bootstrap, "perf", work, "perf")
    data = os.path.join(work, "perf.data")
    rec = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", data, "-p",
                            str(c.proc.pid)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_all_read([c], total)
    finally:
        rec.send_signal(signal.SIGINT)
        rec.wait()
        c.stop()
    rep = run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,symbol",
               "--stdio", "--percent-limit", "1.5", "-g", "none"])
    return [line for line in rep.stdout.splitlines() if line.strip() and not line.startswith("#")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="512MiB")
    ap.add_argument("--data", help="default: /tmp/snapback-bench-kafka-SIZE")
    ap.add_argument("--perf", action="store_true")
    opts = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "snapback"], cwd=ROOT, check=True)
    paths = simulate(opts.size, opts.data or f"/tmp/snapback-bench-kafka-{opts.size}")
    gz_bytes = sum(os.path.getsize(os.path.join(d, f))
                   for d, _, fs in os.walk(paths[0]) for f in fs)

    scan_wall, events, scan_ids = scan(paths)
    scan_alerts = len(scan_ids)
    print(f"records: {events:,} (simulate --volume {opts.size} gz, {gz_bytes} bytes, "
          f"+ examples/atomic); scan: {scan_alerts} alerts", flush=True)

    port = free_port()
    out = run(["bash", BROKER, "start", str(port)]).stdout
    bootstrap = re.search(r"BOOTSTRAP=(\S+)", out).group(1)
    work = tempfile.mkdtemp(prefix="snapback-bench-kafka-")
    rows = []
    try:
        for t, n in [("audit", PARTITIONS)] + [(f"alerts-{g}", 1) for g in
                                               ("one", "two", "recover", "perf")]:
            run(["bash", BROKER, "topic", str(port), t, str(n)])
        t = time.monotonic()
        rep = run([BIN, "replay", *paths, "--brokers", bootstrap, "--topic", "audit"])
        replay_wall = time.monotonic() - t
        print(rep.stdout.strip().splitlines()[0], flush=True)
        sent = int(re.search(r"(\d+) of (\d+) records sent", rep.stdout).group(1))

        rows.append(("`snapback scan DIR examples/atomic` (files; 2 threads)", scan_wall,
                     events / scan_wall, None, f"{scan_alerts} alerts"))
        rows.append(("`snapback replay` into 6 partitions (one message per record)", replay_wall,
                     events / replay_wall, None, None))
        for group, n in (("one", 1), ("two", 2)):
            wall, steady, (messages, ids, repeats) = group_run(bootstrap, port, group, n, sent,
                                                               work)
            same = "same as scan's" if ids == scan_ids else \
                f"DIFFERENT from scan's ({len(ids - scan_ids)} extra, {len(scan_ids - ids)} missing)"
            rows.append((f"`snapback consume`, group of {n} (6 partitions)", wall,
                         sent / wall, steady,
                         f"{messages} revisions, {len(ids)} final alerts, {same}, "
                         f"{repeats} repeated"))
            print(rows[-1], flush=True)
        rec = recovery(bootstrap, sent, work)
        prof = perf_profile(bootstrap, sent, work) if opts.perf else []
    finally:
        run(["bash", BROKER, "stop", str(port)])

    print()
    print("| run | wall s | records/s (wall) | records/s (steady) | alerts (read_committed) |")
    print("|---|---|---|---|---|")
    for name, wall, rate, steady, alerts in rows:
        st = f"{steady:,.0f}" if steady is not None else "–"
        al = alerts if alerts is not None else "–"
        print(f"| {name} | {wall:.2f} | {rate:,.0f} | {st} | {al} |")
    print()
    print("Recovery (group of 2 with --state, one SIGKILLed at half the events, "
          "session.timeout.ms=6000):")
    for k, v in rec.items():
        print(f"- {k}: {v:.2f}" if isinstance(v, float) else f"- {k}: {v}")
    if prof:
        print()
        print("perf (single consumer, --no-children, dso and symbol, >= 1.5 %):")
        for line in prof[:30]:
            print("    " + line)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
