#!/usr/bin/env bash
# The benchmark harness of issue 16: one run, the same generated CloudTrail records in three
# trees of at least 2 GiB each, every tool side by side, interleaved.
#
#   benches/run.sh [SIZE] [DATA_DIR]      (defaults: 3GiB, /tmp/snapback-bench-3g)
#
# SIZE is `snapback simulate --volume`'s; its CloudTrail part is about 69 % of it, so 3GiB gives
# trees of 2.07 GiB. Builds snapback and the gunzip example (release), installs ripgrep and
# libdeflate-tools (apt) and DuckDB's Python API and CLI (PyPI `duckdb`, `duckdb-cli`, in a venv at
# $BENCH_VENV, default /tmp/snapback-bench-venv) when missing, generates the corpus (reused when
# its manifest says the same size and seed), flattens its CloudTrail JSON lines into one file,
# then runs benches/harness.py, which measures and writes benches/RESULTS.md. The trees take
# about 5 GB: delete DATA_DIR when done.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
size="${1:-3GiB}"
data="${2:-/tmp/snapback-bench-3g}"
seed="${BENCH_SEED:-1578004}"
venv="${BENCH_VENV:-/tmp/snapback-bench-venv}"

cd "$root"
cargo build --release -q -p snapback
cargo build --release -q -p snapback-ingest --example gunzip

if ! command -v rg >/dev/null || ! command -v libdeflate-gunzip >/dev/null; then
  apt-get install -y ripgrep libdeflate-tools >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y ripgrep libdeflate-tools >/dev/null; }
fi
if ! "$venv/bin/python" -c 'import duckdb, yaml' 2>/dev/null || [ ! -x "$venv/bin/duckdb" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb duckdb-cli pyyaml
fi

if ! python3 - "$data/manifest.json" "$size" "$seed" <<'PY' 2>/dev/null
import json, sys, re
m = json.load(open(sys.argv[1]))
u = {"": 1, "b": 1, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "kb": 1e3, "mb": 1e6, "gb": 1e9}
n, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]*)", sys.argv[2]).groups()
sys.exit(0 if m["size"] == int(float(n) * u[unit.lower()]) and m["seed"] == int(sys.argv[3]) else 1)
PY
then
  rm -rf "$data"
  ./target/release/snapback simulate --volume "$size" --seed "$seed" --out "$data" >/dev/null
  rm -rf "$data/jsonl1"
fi
# The per-file JSON lines are not measured (only their concatenation is): each is dropped once
# appended, to spare the disk at large sizes, unless BENCH_KEEP_JSONL=1. The file is the same as
# `cat "$data"/jsonl/*.jsonl` (the glob is sorted).
if [ ! -s "$data/jsonl1/cloudtrail.jsonl" ]; then
  mkdir -p "$data/jsonl1"
  : > "$data/jsonl1/cloudtrail.jsonl"
  for f in "$data"/jsonl/*.jsonl; do
    cat "$f" >> "$data/jsonl1/cloudtrail.jsonl"
    [ "${BENCH_KEEP_JSONL:-0}" = 1 ] || rm -f "$f"
  done
fi

exec "$venv/bin/python" "$here/harness.py" --data "$data" --size "$size" --root "$root" --venv "$venv"
