#!/usr/bin/env bash
# The benchmark harness of issue 6: one run, the same generated data, every tool side by side.
#
#   benches/run.sh [SIZE] [DATA_DIR]      (defaults: 256MiB, /tmp/snapback-bench)
#
# Builds snapback (release) and the gunzip and gz_ceiling bench examples, installs ripgrep (apt) and DuckDB
# (pip, in a venv at $BENCH_VENV, default /tmp/snapback-bench-venv) when missing, generates the
# corpus with `snapback simulate --volume SIZE` (reused when its manifest says the same size and
# seed), then runs benches/harness.py, which measures and writes benches/RESULTS.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
size="${1:-256MiB}"
data="${2:-/tmp/snapback-bench}"
seed="${BENCH_SEED:-1578004}"
venv="${BENCH_VENV:-/tmp/snapback-bench-venv}"

cd "$root"
cargo build --release -q -p snapback
cargo build --release -q -p snapback-ingest --example gunzip --example gz_ceiling

if ! command -v rg >/dev/null; then
  apt-get install -y ripgrep >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y ripgrep >/dev/null; }
fi
if ! "$venv/bin/python" -c 'import duckdb, yaml' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb pyyaml
fi

want="$(python3 -c "import sys; print(sys.argv[1])" "$size")"
if ! python3 - "$data/manifest.json" "$size" "$seed" <<'PY' 2>/dev/null
import json, sys, re
m = json.load(open(sys.argv[1]))
u = {"": 1, "b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "kb": 1e3, "mb": 1e6, "gb": 1e9}
n, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]*)", sys.argv[2]).groups()
sys.exit(0 if m["size"] == int(float(n) * u[unit.lower()]) and m["seed"] == int(sys.argv[3]) else 1)
PY
then
  rm -rf "$data"
  /usr/bin/time -v ./target/release/snapback simulate --volume "$size" --seed "$seed" --out "$data" \
    2> >(tee "$data.simulate.log" >&2) >/dev/null
fi

exec "$venv/bin/python" "$here/harness.py" --data "$data" --size "$want" --root "$root"
