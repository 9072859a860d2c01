"""A tree of many one-record CloudTrail files in the S3 layout, where a scan's per-file cost
(listing, sizing, opening, reading) is all there is to measure (docs/decisions.md, "A walk of
our own").

    python3 benches/small_files.py SOURCE_S3_FILE OUT_DIR [FILES]     (FILES: 20000)

SOURCE_S3_FILE is any `{"Records":[…]}` file (for one, of `snapback simulate --out D`: a file
under D/json/AWSLogs); its first record is written into every file. Then, for example:

    perf stat -r 10 -e task-clock snapback scan -q --format jsonl OUT_DIR/AWSLogs
    perf stat -r 10 -e task-clock rg -c '"eventName":"(StopInstances)"' OUT_DIR/AWSLogs
"""

import json
import os
import sys

source, out = sys.argv[1], sys.argv[2]
files = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
body = json.dumps({"Records": json.load(open(source))["Records"][:1]})
per_dir = 100
written = 0
for n in range(-(-files // per_dir)):
    account, region, day = f"11111111111{n % 4}", ["us-east-1", "eu-west-1"][n // 4 % 2], n // 8 + 1
    d = f"{out}/AWSLogs/{account}/CloudTrail/{region}/2024/01/{day:02d}"
    os.makedirs(d, exist_ok=True)
    for i in range(min(per_dir, files - written)):
        with open(f"{d}/{account}_CloudTrail_{region}_20240101T{i:04d}Z_x{i}.json", "w") as f:
            f.write(body)
        written += 1
print(f"{written} files of {len(body)} bytes under {out}/AWSLogs")
