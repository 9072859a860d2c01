#!/usr/bin/env bash
# The "million distinct instances" step of the harness alone (issue 6: the correlation state is
# capped; evictions are counted and reported):
#
#   benches/million.sh [DATA_DIR]      (default: /tmp/snapback-bench)
#
# Builds snapback (release), generates DATA_DIR/million/stop-1m.jsonl when missing (about
# 2 GB), scans it under /usr/bin/time -v and replaces that section of benches/RESULTS.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
data="${1:-/tmp/snapback-bench}"
cd "$root"
cargo build --release -q -p snapback
exec python3 "$here/harness.py" --only million --data "$data" --size n/a --root "$root"
