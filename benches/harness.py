"""Measure snapback, DuckDB, ripgrep and gzip decompression on the same corpus; check results.

Run through benches/run.sh, which builds, installs and generates first. Writes
benches/RESULTS.md (and prints it). Every figure is the best of REPEAT runs (the machine is
shared, so the best run is the least disturbed one); peak RSS is from `/usr/bin/time -v`.
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

import yaml

ap = argparse.ArgumentParser()
ap.add_argument("--data", required=True)
ap.add_argument("--size", required=True)
ap.add_argument("--root", required=True)
ap.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "3")))
ap.add_argument("--only", choices=["million"], help="run one step alone (million: a million distinct instances)")
args = ap.parse_args()

ROOT = args.root
DATA = args.data
SNAPBACK = f"{ROOT}/target/release/snapback"


# ---- a million distinct instances (issue 6: the correlation state is capped, evictions are
# counted and reported). Self-contained: one function, called once below and by `--only million`.
def timed(cmd, timing, stdout, stderr, stdin=None, env=None):
    """Run `cmd` once under /usr/bin/time -v (its report to `timing`): (exit code, wall
    seconds, peak RSS MB). `stdin`, `stdout`, `stderr` are paths (None: /dev/null for stdin)."""
    e = dict(os.environ)
    e.update(env or {})
    with open(stdout, "wb") as so, open(stderr, "wb") as se, open(stdin or os.devnull, "rb") as si:
        t = time.perf_counter()
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", timing] + cmd, stdin=si, stdout=so, stderr=se, env=e)
        wall = time.perf_counter() - t
    rss = next((int(l.split(":")[1]) / 1024 for l in open(timing) if "Maximum resident set size" in l), 0)
    return rc, wall, rss


def million_instances():
    """Generate (once) a CloudTrail JSON-lines file of 1,000,000 StopInstances, each on a distinct
    instance, over 4 accounts x 3 regions and 4 hours, plus planted StopInstances->StartInstances
    chains on one instance each at several points in time; scan it under /usr/bin/time -v.
    Returns the RESULTS.md section as a list of lines."""
    import random
    from datetime import datetime, timedelta, timezone

    n, hours = 1_000_000, 4
    path = f"{DATA}/million/stop-1m.jsonl"
    accounts = ["111122223333", "222233334444", "333344445555", "444455556666"]
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    t0 = datetime(2026, 11, 21, 8, 0, 0, tzinfo=timezone.utc)
    # Planted chains: (fraction of the time range, instance); the start follows 5 minutes later.
    chains = [(f, "i-0c4a1ed%010d" % k) for k, f in enumerate((0.02, 0.25, 0.5, 0.75, 0.95, 0.99))]
    rng = random.Random(1578004)

    def record(name, t, account, region, instance, seq):
        eid = "%08x-%04x-4%03x-8%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12), rng.getrandbits(12), seq)
        rid = "%08x-%04x-4%03x-a%03x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12), rng.getrandbits(12), seq)
        user = "ops-%d" % (seq % 7)
        state = ({"code": 64, "name": "stopping"}, {"code": 16, "name": "running"}) if name == "StopInstances" \
            else ({"code": 0, "name": "pending"}, {"code": 80, "name": "stopped"})
        cmd = "ec2.stop-instances" if name == "StopInstances" else "ec2.start-instances"
        return {
            "eventVersion": "1.10",
            "userIdentity": {"type": "AssumedRole", "principalId": f"AROAUQ7PMRA1RJAZBEIOY:{user}",
                             "arn": f"arn:aws:sts::{account}:assumed-role/platform-engineer/{user}",
                             "accountId": account, "accessKeyId": "ASIAC9Y4HOH7CSWXLA0B",
                             "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAUQ7PMRA1RJAZBEIOY",
                                                                  "arn": f"arn:aws:iam::{account}:role/platform-engineer",
                                                                  "accountId": account, "userName": "platform-engineer"},
                                                "webIdFederationData": {},
                                                "attributes": {"creationDate": t0.strftime("%Y-%m-%dT%H:%M:%SZ"), "mfaAuthenticated": "false"}}},
            "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "ec2.amazonaws.com",
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": "198.51.100.%d" % (seq % 250 + 1),
            "userAgent": f"aws-cli/2.17.21 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#{cmd}",
            "requestParameters": {"instancesSet": {"items": [{"instanceId": instance}]}, "force": False},
            "responseElements": {"requestId": rid, "instancesSet": {"items": [
                {"instanceId": instance, "currentState": state[0], "previousState": state[1]}]}},
            "requestID": rid,
            "eventID": eid,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": f"ec2.{region}.amazonaws.com"},
        }

    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        planted = {}
        for f, inst in chains:
            at = int(f * n)
            planted.setdefault(at, []).append(("StopInstances", 0, inst))
            planted.setdefault(min(at + 21_000, n - 1), []).append(("StartInstances", 300, inst))
        starts = {}
        t = time.perf_counter()
        with open(path + ".part", "w") as out:
            for i in range(n):
                when = t0 + timedelta(seconds=i * hours * 3600 / n)
                account, region = accounts[i % 4], regions[(i // 4) % 3]
                out.write(json.dumps(record("StopInstances", when, account, region, "i-%017x" % (0x5000000 + i), i),
                                     separators=(",", ":")) + "\n")
                for name, _, inst in planted.get(i, []):
                    # Chains live in the first account and region; the start is 5 minutes on.
                    if name == "StopInstances":
                        starts[inst] = when
                        w = when
                    else:
                        w = starts[inst] + timedelta(seconds=300)
                    out.write(json.dumps(record(name, w, accounts[0], regions[0], inst, n + len(starts) * 2 + (name == "StartInstances")),
                                         separators=(",", ":")) + "\n")
        os.rename(path + ".part", path)
        print(f"million: wrote {path} ({os.path.getsize(path)/1e9:.2f} GB) in {time.perf_counter() - t:.0f} s", flush=True)
    size = os.path.getsize(path)
    # From stdin, records reach the detector one at a time; from the path, the parallel reader
    # holds a batch of chunks' events (prepared: raw records dropped) until handed on in order.
    forms = [("stdin", [SNAPBACK, "scan", "-q", "--format", "jsonl", "-"], path),
             ("path", [SNAPBACK, "scan", "-q", "--format", "jsonl", path], None)]
    rows = []
    for label, cmd, stdin in forms:
        timing, alerts, err = (f"{DATA}/million/{label}-{x}" for x in ("time.txt", "alerts.jsonl", "stderr.txt"))
        rc, wall, rss = timed(cmd, timing, alerts, err, stdin)
        summary = [l.strip() for l in open(err) if l.startswith("snapback:")]
        evictions = [l.removeprefix("snapback: ") for l in summary if "evicted" in l] or ["none"]
        found = set()
        for line in open(alerts):
            a = json.loads(line)
            found |= {inst for _, inst in chains if any(e["id"] == inst for e in a["entities"])}
        shown = shlex.join(cmd) + (" < " + shlex.quote(stdin) if stdin else "")
        rows.append(f"| `{shown}` | {rc} | {wall:.1f} | {rss:.0f} | {'; '.join(evictions)} | {len(found)}/{len(chains)}: "
                    + ", ".join(f"{f:g} {'yes' if inst in found else 'no'}" for f, inst in chains) + " |")
        print(rows[-1], flush=True)
    lines = ["## A million distinct instances\n",
             f"A generated CloudTrail JSON-lines file ({size/1e9:.2f} GB, `{path}`): "
             f"{n:,} StopInstances, each on a distinct instance, over {len(accounts)} accounts x {len(regions)} "
             f"regions and {hours} hours in time order, plus {len(chains)} planted StopInstances->StartInstances "
             "chains (5 minutes apart, one instance each) at fractions "
             + ", ".join(f"{f:g}" for f, _ in chains) + " of the time range. Beyond the detector's caps the "
             "oldest state is evicted, so only the chains late enough to be inside the retained window alert. "
             "The path form also measures the parallel reader, which holds one batch of chunks' events "
             "(without their raw records) at a time.\n",
             "| command | exit | wall s | peak RSS MB | evictions (summary) | planted chains alerted |",
             "|---|---:|---:|---:|---|---|",
             *rows,
             ""]
    print("\n".join(lines), flush=True)
    return lines


if args.only == "million":
    section = million_instances()
    # Alone: replace the section in the last RESULTS.md (or add it before the notes).
    results_md = f"{ROOT}/benches/RESULTS.md"
    text = open(results_md).read() if os.path.exists(results_md) else ""
    text = text.split("## Notes (written by hand", 1)[0]
    head, sep, rest = text.partition("## A million distinct instances\n")
    if sep:
        nxt = re.search(r"^## ", rest, re.M)
        rest = rest[nxt.start():] if nxt else ""
    text = head.rstrip("\n") + "\n\n" + "\n".join(section) + "\n" + rest
    # ...and the notes after it, as the full run appends them.
    notes = f"{ROOT}/benches/NOTES.md"
    if os.path.exists(notes):
        text = text.rstrip("\n") + "\n\n" + open(notes).read()
    open(results_md, "w").write(text)
    sys.exit(0)

GUNZIP = f"{ROOT}/target/release/examples/gunzip"
CEILING = f"{ROOT}/target/release/examples/gz_ceiling"
PY = sys.executable
SIGMAHQ = os.path.normpath(f"{ROOT}/../shared/sigmahq-cloud")
manifest = json.load(open(f"{DATA}/manifest.json"))
tmp = tempfile.mkdtemp(prefix="snapback-bench-")


def tree_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    return total


def run(cmd, env=None, out=None):
    """Run once under /usr/bin/time -v: (wall seconds, peak RSS MB); exits if it fails."""
    rc, wall, rss = timed(cmd, f"{tmp}/time.txt", out or os.devnull, f"{tmp}/stderr.txt", env=env)
    if rc != 0:
        sys.exit(f"failed ({rc}): {' '.join(cmd)}\n{open(f'{tmp}/stderr.txt').read()[-2000:]}")
    return wall, rss


def best(cmd, env=None, out=None):
    runs = [run(cmd, env, out) for _ in range(args.repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


# ---- the question: the pack's literal operation names, read from rules/
question = {"aws": set(), "azure_exact": set(), "azure_prefix": set(), "azure_suffix": set(), "gcp_suffix": set()}


def collect(node):
    if isinstance(node, dict):
        for k, v in node.items():
            field, _, mods = k.partition("|")
            vals = v if isinstance(v, list) else [v]
            vals = [x for x in vals if isinstance(x, str)]
            if field == "eventName" and not mods:
                question["aws"].update(vals)
            elif field == "operationName":
                key = {"": "azure_exact", "startswith": "azure_prefix", "endswith": "azure_suffix"}.get(mods)
                if key:
                    question[key].update(vals)
            elif field == "protoPayload.methodName" and mods == "endswith":
                question["gcp_suffix"].update(vals)
            else:
                collect(v)
    elif isinstance(node, list):
        for x in node:
            collect(x)


for path in sorted(glob.glob(f"{ROOT}/rules/**/*.yml", recursive=True)):
    for doc in yaml.safe_load_all(open(path)):
        if isinstance(doc, dict) and "detection" in doc and "filter" not in doc:
            collect(doc["detection"])
question = {k: sorted(v) for k, v in question.items()}
qfile = f"{tmp}/question.json"
json.dump(question, open(qfile, "w"))
rg_pattern = (
    '"eventName":"(' + "|".join(question["aws"]) + ')"'
    + '|"operationName":"(?i:' + "|".join(re.escape(n) for n in question["azure_exact"] + question["azure_prefix"]) + ")"
    + '|"methodName":"[^"]*(' + "|".join(re.escape(n) for n in question["gcp_suffix"]) + ')"'
)

# ---- datasets
records = {
    "json": manifest["aws"]["records"] + manifest["azure"]["records"] + manifest["gcp"]["records"],
    "jsonl": manifest["aws"]["records"],
    "gz": manifest["aws"]["records"],
}
datasets = [d for d in ("json", "jsonl", "gz") if os.path.isdir(f"{DATA}/{d}")]
sizes = {d: tree_bytes(f"{DATA}/{d}") for d in datasets}
plain = {d: sizes[d] for d in datasets}
if "gz" in datasets:
    plain["gz"] = manifest["aws"]["bytes"]


def mbps(nbytes, secs):
    return nbytes / secs / 1e6


rows = []
results = {}
commands = []


def measure(name, dataset, cmd, env=None, out=None, nbytes=None):
    wall, rss = best(cmd, env, out)
    nbytes = nbytes or plain[dataset]
    results[(name, dataset)] = (wall, rss)
    envs = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    commands.append(f"{envs + ' ' if envs else ''}{shlex.join(cmd)}")
    rows.append((dataset, name, wall, mbps(nbytes, wall), records[dataset] / wall, rss))
    print(f"{dataset:6} {name:28} {wall:7.2f}s {mbps(nbytes, wall):8.0f} MB/s {rss:7.0f} MB", flush=True)
    return wall


for d in datasets:
    tree = f"{DATA}/{d}"
    measure("snapback scan", d, [SNAPBACK, "scan", "-q", "--format", "jsonl", tree], out=f"{tmp}/alerts-{d}.jsonl")
    measure("snapback scan + SigmaHQ cloud", d,
            [SNAPBACK, "scan", "-q", "--format", "jsonl", "--rules", SIGMAHQ, tree], out=f"{tmp}/alerts-sigma-{d}.jsonl")
    measure("DuckDB", d, [PY, f"{ROOT}/benches/duckdb_query.py", d, tree, qfile])
    if d == "gz":
        measure("gunzip alone (same decoders)", d, [GUNZIP, tree])
        measure("rg -z -c", d, ["rg", "-z", "-c", "-e", rg_pattern, tree])
    else:
        measure("rg -c", d, ["rg", "-c", "-e", rg_pattern, tree])


# ---- checks: identical alerts across threads and fast paths; every planted chain alerted
def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()[:16]


variants = [
    ("RAYON_NUM_THREADS=1", {"RAYON_NUM_THREADS": "1"}),
    ("RAYON_NUM_THREADS=2", {"RAYON_NUM_THREADS": "2"}),
    ("SNAPBACK_NO_PREFILTER=1", {"SNAPBACK_NO_PREFILTER": "1"}),
    ("SNAPBACK_NO_FAST_FRAMER=1", {"SNAPBACK_NO_FAST_FRAMER": "1"}),
    ("all fast paths off, 1 thread", {"SNAPBACK_NO_PREFILTER": "1", "SNAPBACK_NO_FAST_FRAMER": "1", "RAYON_NUM_THREADS": "1"}),
]
checks = []
for d in datasets:
    tree = f"{DATA}/{d}"
    for label, rules in (("built-in pack", []), ("+ SigmaHQ cloud", ["--rules", SIGMAHQ])):
        ref = f"{tmp}/alerts-{d}.jsonl" if not rules else f"{tmp}/alerts-sigma-{d}.jsonl"
        want = digest(ref)
        for vlabel, env in variants:
            out = f"{tmp}/v.jsonl"
            run([SNAPBACK, "scan", "-q", "--format", "jsonl"] + rules + [tree], env=env, out=out)
            got = digest(out)
            checks.append((d, label, vlabel, want == got, f"{got} vs {want}"))
            print(f"{d:6} {label:16} {vlabel:30} {'same' if want == got else 'DIFFERENT'}", flush=True)

chain_rows = []
for d in datasets:
    alerts = [json.loads(line) for line in open(f"{tmp}/alerts-{d}.jsonl")]
    expected = [c for c in manifest["chains"] if d in c["trees"]]
    found = 0
    for c in expected:
        hit = any(a["rule_name"] == c["rule"] and c["entity"].lower() in json.dumps(a).lower() for a in alerts)
        found += hit
    chain_rows.append((d, len(expected), found, len(alerts)))
    print(f"{d:6} planted {len(expected)} found {found} alerts {len(alerts)}", flush=True)

# ---- RESULTS.md
r = results
lines = []
P = lines.append
nproc = os.cpu_count()
P("# Benchmark results\n")
P(f"Generated by `benches/run.sh {args.size}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
  f"{nproc} cores, best of {args.repeat} runs each. **The machine is shared with other engineers' "
  "builds and tests, so absolute figures are noisy; ratios are from the same run.**\n")
P(f"Corpus: `snapback simulate --volume {args.size} --seed {manifest['seed']} --out {DATA}`: CloudTrail "
  f"{manifest['aws']['records']:,} records ({manifest['aws']['bytes']/1e6:.0f} MB, {manifest['aws']['gz_bytes']/1e6:.0f} MB gzip), "
  f"Azure {manifest['azure']['records']:,} ({manifest['azure']['bytes']/1e6:.0f} MB), GCP {manifest['gcp']['records']:,} "
  f"({manifest['gcp']['bytes']/1e6:.0f} MB); {len(manifest['chains'])} planted chains.\n")
P("Trees: `json` = CloudTrail `{\"Records\":[…]}` files (S3 layout, uncompressed) + Azure PT1H.json lines + "
  "GCP sink lines; `jsonl` = the same CloudTrail records as JSON lines; `gz` = the S3 layout gzip "
  "(MB/s of the gz tree are of decompressed bytes).\n")
P("| tree | tool | wall s | MB/s | events/s | peak RSS MB |")
P("|---|---|---:|---:|---:|---:|")
for d, name, wall, m, ev, rss in rows:
    P(f"| {d} | {name} | {wall:.2f} | {m:,.0f} | {ev:,.0f} | {rss:.0f} |")
P("")


def ratio(a, b, d):
    return r[(b, d)][0] / r[(a, d)][0]


# What bounds the gz target: inflate alone against inflate plus the least a scan must do
# (examples/gz_ceiling.rs, one core, files in memory, best of 5).
ceiling_rows, ceiling_error, ceiling_cmd = None, None, [CEILING, f"{DATA}/gz"]
if "gz" in datasets:
    commands.append(" ".join(ceiling_cmd))
    out = subprocess.run(ceiling_cmd, capture_output=True, text=True)
    if out.returncode != 0:
        ceiling_error = out.stderr.strip() or f"exit {out.returncode}"
    else:
        ceiling_rows = [l.split("\t") for l in out.stdout.strip().splitlines()]
ceiling_both = None
if ceiling_rows:
    ceiling_both = next((float(r_[3]) for r_ in ceiling_rows[2:] if r_[0] == "inflate+keys+records"), None)


P("## Targets\n")
P("| target | measured | met |")
P("|---|---|---|")
for d in ("json", "jsonl"):
    if d in datasets:
        x = ratio("snapback scan", "DuckDB", d)
        P(f"| {d}: snapback ≥ 3× DuckDB | {x:.2f}× | {'yes' if x >= 3 else 'NO'} |")
        x = ratio("snapback scan", "rg -c", d)
        P(f"| {d}: snapback ≥ 0.6× `rg -c` | {x:.2f}× | {'yes' if x >= 0.6 else 'NO'} |")
        x = ratio("snapback scan + SigmaHQ cloud", "DuckDB", d)
        P(f"| {d}: with SigmaHQ cloud rules ≥ 1× DuckDB | {x:.2f}× | {'yes' if x >= 1 else 'NO'} |")
if "gz" in datasets:
    x = ratio("snapback scan", "gunzip alone (same decoders)", "gz")
    verdict = "yes" if x >= 0.8 else "NO" + (
        f" (blocked: a scan that finds the candidate records and numbers them all cannot beat "
        f"{ceiling_both:.2f}× here; see \"The ceiling for gzip\")" if ceiling_both else "")
    P(f"| gz: snapback ≥ 0.8× decompression alone | {x:.2f}× | {verdict} |")
    x = ratio("snapback scan + SigmaHQ cloud", "DuckDB", "gz")
    P(f"| gz: with SigmaHQ cloud rules ≥ 1× DuckDB | {x:.2f}× | {'yes' if x >= 1 else 'NO'} |")
peak = max(r[(("snapback scan"), d)][1] for d in datasets)
P(f"| peak RSS < 200 MB (at {args.size}; the target is for 2 GiB) | {peak:.0f} MB | {'yes' if peak < 200 else 'NO'} |")
same = all(c[3] for c in checks)
P(f"| alerts identical across threads and fast paths | {sum(c[3] for c in checks)}/{len(checks)} variants identical | {'yes' if same else 'NO'} |")
allfound = all(e == f for _, e, f, _ in chain_rows)
P(f"| every planted chain alerted | " + ", ".join(f"{d}: {f}/{e} ({n} alerts)" for d, e, f, n in chain_rows)
  + f" | {'yes' if allfound else 'NO'} |")
P("")
if "gz" in datasets:
    P("## The ceiling for gzip\n")
    if ceiling_error:
        P(f"`gz_ceiling` did not run: {ceiling_error}\n")
    else:
        rows = ceiling_rows
        P(f"`{' '.join(ceiling_cmd).replace(ROOT + '/', '')}`: {rows[0][0]}. After inflating each file (libdeflate, as "
          "`scan` and the `gunzip` baseline do), on the bytes still in cache: `keys` = `memmem` for "
          "`\"eventName\":\"` alone (less than a conservative filter must look for); `records` = a "
          "hand-written AVX2 first stage (quotes, escapes, strings by carry-less multiply, depth) that "
          "only counts the records, which every event's `file#record` and the summary need; `framer` = "
          "snapback's framer with a filter that passes nothing. The ceiling is inflate time over inflate "
          "plus that work: no scan doing the work can go faster relative to decompression alone.\n")
        P("| step | s | GB/s | ceiling | count |")
        P("|---|---:|---:|---:|---:|")
        for row in rows[2:]:
            P("| " + " | ".join(row) + " |")
        P("")
P("## Identical results\n")
P("`snapback scan --format jsonl` output compared byte for byte (sha256) with the default run:\n")
P("| tree | rules | variant | identical |")
P("|---|---|---|---|")
for d, label, v, ok, detail in checks:
    P(f"| {d} | {label} | `{v}` | {'yes' if ok else 'NO ' + detail} |")
P("")
P("## Commands\n")
P("The question (the pack's literal operation names, read from `rules/`): "
  f"`{json.dumps(question)}`.\n")
P("```sh")
for c in commands:
    P(c.replace(tmp, "$TMP"))
P("```")
lines += million_instances()
notes = f"{ROOT}/benches/NOTES.md"
if os.path.exists(notes):
    lines.append(open(notes).read())
text = "\n".join(lines) + "\n"
open(f"{ROOT}/benches/RESULTS.md", "w").write(text)
print(text)
