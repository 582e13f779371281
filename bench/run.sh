#!/usr/bin/env bash
# make bench: every scenario bench/NN_*.py (01..11), one JSON line per result (01 also prints
# the http-floor row, 03 the sqlite-bulk-insert and disk-seq-write rows, 09 and 10 two each),
# each compared with a peer, a physical limit, itself or nothing (it says which), all in the
# same run. Needs build/sp_loadgen, build/sp_floor and build/sp_parquet_tool (the SP_TESTS build).
# Results are also appended to bench/results.jsonl with the machine and date.
set -uo pipefail
cd "$(dirname "$0")"
status=0
for b in [0-9][0-9]_*.py; do
  line=$(/usr/bin/python3 "$b") || { echo "{\"bench\":\"$b\",\"error\":\"failed\"}"; status=1; continue; }
  echo "$line"
  echo "$line" | /usr/bin/python3 -c 'import json,sys,datetime,platform,os
for l in sys.stdin:
    d=json.loads(l); d["date"]=datetime.date.today().isoformat(); d["cpus"]=os.cpu_count(); print(json.dumps(d))' >> results.jsonl
done
exit $status
