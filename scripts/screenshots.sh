#!/bin/bash
# `make screenshots`: a screenshot of every dashboard page, taken by headless chromium
# (tests/e2e/dash_browser.js) from a server on a fresh data dir with generated orders, into
# build/screenshots/; the pipeline page is also copied to docs/dashboard.png for the README.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SALESPIPE_BIN:-$here/build/salespipe}
out=$here/build/screenshots
data=$(mktemp -d /tmp/salespipe-shots-XXXXXX)
fifo=$data/ready
mkfifo "$fifo"
"$bin" serve --port 0 --data-dir "$data/d" >"$fifo" 2>"$data/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
read -r line <"$fifo"
port=${line#ready port=}
endpoint=http://127.0.0.1:$port
"$bin" generate --endpoint "$endpoint" --events 600 --rate 0 --mix 6:3:1 --seed 18 >/dev/null
/usr/bin/python3 - "$endpoint" <<'PY'
import json, sys, time, urllib.request
for _ in range(600):
    h = json.load(urllib.request.urlopen(sys.argv[1] + "/_salespipe/health"))["services"]
    if h["firehose"]["backlog_records"] == 0 and h["firehose"]["objects"] > 0:
        break
    time.sleep(0.1)
PY
"$bin" crawl --data-dir "$data/d" >/dev/null
mkdir -p "$out" "$here/docs"
node "$here/tests/e2e/dash_browser.js" --url "$endpoint/_salespipe/" --out "$out" \
  --sql "SELECT product_name, count(*) AS orders, sum(quantity) AS units FROM kinesis_firehose_destination_yb GROUP BY product_name ORDER BY product_name" >/dev/null
cp "$out/pipeline.png" "$here/docs/dashboard.png"
echo "screenshots in $out: $(cd "$out" && ls *.png | tr '\n' ' ')"
