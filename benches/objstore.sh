#!/usr/bin/env bash
# `scan s3://…` beside `scan` of the same files on disk, against a local moto server (issue 15).
#
#   benches/objstore.sh [SIZE] [DATA_DIR]      (defaults: 256MiB, /tmp/snapback-bench-objstore)
#
# Builds snapback (release), writes a CloudTrail corpus with `snapback simulate --volume SIZE
# --volume-format gz` (the S3 delivery layout, gzip, as CloudTrail writes it), starts
# `moto_server` on a free 127.0.0.1 port, uploads the tree to s3://bench/ with boto3 (moto's own
# dependency), then measures under /usr/bin/time -v, each 3 times:
#   1. scan of the directory on disk                      (the local baseline)
#   2. scan of s3://bench/AWSLogs/ through moto           (what issue 15 adds)
#   3. GET of every object with 16 boto3 threads, no scan (the server's own ceiling: what moto
#      costs, apart from snapback)
# and checks that 1 and 2 give the same alerts once the URL is written where the path was.
# Prints a Markdown table; benches/RESULTS-objstore.md holds the last run and its context.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
size="${1:-256MiB}"
data="${2:-/tmp/snapback-bench-objstore}"
cd "$root"
cargo build --release -q -p snapback
bin="$root/target/release/snapback"

if [ ! -d "$data/gz/AWSLogs" ]; then
  rm -rf "$data"
  "$bin" simulate --volume "$size" --volume-format gz --out "$data" >/dev/null
fi
# simulate writes the gzip tree under gz/: that folder is the bucket's root.
data="$data/gz"
objects=$(find "$data/AWSLogs" -type f | wc -l)
bytes=$(find "$data/AWSLogs" -type f -printf "%s\n" | awk "{s+=\$1} END {print s}")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$(mktemp)"
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=AKIABENCHMARK0000001 AWS_SECRET_ACCESS_KEY=bench/secret/not/real/000000000000000

python3 - "$data" <<'PY'
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
root = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
s3.create_bucket(Bucket="bench")
files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, "AWSLogs")) for f in fs]
def put(p):
    s3.upload_file(p, "bench", os.path.relpath(p, root))
with ThreadPoolExecutor(16) as pool:
    list(pool.map(put, files))
PY

measure() { # name, command...: wall seconds and peak RSS (KiB) of the best of 3 (by wall time)
  local name="$1"; shift
  local best_wall="" best_rss=""
  for _ in 1 2 3; do
    /usr/bin/time -v "$@" >/tmp/objstore-bench.out 2>/tmp/objstore-bench.time || {
      cat /tmp/objstore-bench.time >&2; exit 1; }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {split($2,a,":"); s=0; for(i=1;i<=length(a);i++) s=s*60+a[i]; print s}' /tmp/objstore-bench.time)
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' /tmp/objstore-bench.time)
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall=$wall; best_rss=$rss; fi
  done
  awk -v n="$name" -v w="$best_wall" -v r="$best_rss" -v b="$bytes" \
    'BEGIN{printf "| %s | %.2f | %.1f | %.0f |\n", n, w, b/1048576/w, r/1024}'
}

echo "corpus: $objects objects, $bytes bytes (gzip) of CloudTrail under $data/AWSLogs; $(nproc) cores"
echo
echo "| run | wall s (best of 3) | MiB/s (compressed) | peak RSS MiB |"
echo "|---|---|---|---|"
measure "scan, files on disk" "$bin" scan --format jsonl "$data/AWSLogs"
cp /tmp/objstore-bench.out /tmp/objstore-bench.local
measure "scan s3://bench/AWSLogs/ (moto)" "$bin" scan --format jsonl s3://bench/AWSLogs/
cp /tmp/objstore-bench.out /tmp/objstore-bench.remote
getall="$(mktemp --suffix .py)"
cat >"$getall" <<'PY'
import os, boto3
from concurrent.futures import ThreadPoolExecutor
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="bench") for o in p.get("Contents", [])]
def get(k):
    return len(s3.get_object(Bucket="bench", Key=k)["Body"].read())
with ThreadPoolExecutor(16) as pool:
    print(sum(pool.map(get, keys)))
PY
measure "GET every object, 16 boto3 threads (moto ceiling)" python3 "$getall"
rm -f "$getall"
sed "s#s3://bench/AWSLogs/#$data/AWSLogs/#g" /tmp/objstore-bench.remote | cmp -s - /tmp/objstore-bench.local \
  && echo && echo "alerts: identical ($(wc -l </tmp/objstore-bench.local) lines)" \
  || { echo "alerts DIFFER between disk and s3://" >&2; exit 1; }
