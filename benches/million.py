"""The million-distinct-instances step (issue 6: the correlation state is capped, evictions are
counted and reported), used by harness.py (`--only million` runs it alone)."""

import json
import os
import shlex
import subprocess
import time

DATA = ROOT = SNAPBACK = None


def setup(data, root):
    global DATA, ROOT, SNAPBACK
    DATA, ROOT, SNAPBACK = data, root, f"{root}/target/release/snapback"


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


