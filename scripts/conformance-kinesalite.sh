#!/usr/bin/env bash
# Runs the kinesalite conformance suite (github.com/mhart/kinesalite, test/*.js, written against
# real Kinesis) against salespipe, or against kinesalite itself for the baseline, with only the
# endpoint changed. The suite is not part of this repository: it is copied from a kinesalite
# checkout into a work directory and patched there (three lines: no embedded server, the port
# from SP_PORT).
#
#   scripts/conformance-kinesalite.sh <kinesalite checkout> <work dir> salespipe|kinesalite [file.js...]
#
# The work dir needs the suite's test dependencies once:
#   (cd <work dir> && npm install mocha@6 should@13 aws4@1.10 async@2 once bignumber.js@9 cbor@5)
# The checkout's db/ (which splitShard.js and mergeShards.js require) needs kinesalite's own
# dependencies: `npm install` in the checkout, or tools/node_modules (the oracles) next to it.
# Results: <work dir>/results/<target>-<file>.json (mocha's JSON reporter), and one line per file
# plus a total on stdout. SALESPIPE_BIN picks the binary (default build/salespipe).
#
# salespipe runs as the suite's Kinesis would be: on Kinesis's own port (server.service_ports,
# so requests naming no operation get Kinesis's answers, not DynamoDB's), with kinesalite's
# defaults for what a real account has: streams CREATING / UPDATING / DELETING for 500 ms
# (server.status_transition_ms) and an account shard quota of 50 (kinesalite's; AWS's default
# is 500), and none of the seed's resources (a config with only a server section).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "$1" && pwd); work=$(mkdir -p "$2" && cd "$2" && pwd); target=$3; shift 3
bin=${SALESPIPE_BIN:-$here/build/salespipe}

rm -rf "$work/suite"
mkdir -p "$work/suite" "$work/results"
cp -r "$src/test" "$work/suite/test"
ln -sfn "$src/db" "$work/suite/db"
stub="function(){return {listen:function(p,cb){cb()},close:function(cb){cb()}}}"
sed -i "s|kinesalite = require('..')|kinesalite = $stub|" "$work/suite/test/helpers.js" \
    "$work/suite/test/connection.js"
sed -i "s|^var port = 10000 + Math.round(Math.random() \* 10000),|var port = +process.env.SP_PORT,|" \
    "$work/suite/test/helpers.js"

port=$((20000 + RANDOM % 20000))
data=$(mktemp -d)
if [ "$target" = kinesalite ]; then
    node "$src/cli.js" --port "$port" >"$work/server.log" 2>&1 &
else
    printf 'server:\n  status_transition_ms: 500\n  kinesis_account_shard_limit: 50\n' \
        >"$work/salespipe.yaml"
    "$bin" serve --port "$((port + 1))" --service-port "kinesis=$port" \
        --config "$work/salespipe.yaml" --data-dir "$data" >"$work/server.log" 2>&1 &
fi
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
    curl -s -o /dev/null "127.0.0.1:$port/" && break
    sleep 0.1
done

[ $# -gt 0 ] || set -- $(cd "$work/suite/test" && ls *.js | grep -v '^helpers.js$')
pass=0; total=0
for f in "$@"; do
    out="$work/results/$target-$f.json"
    (cd "$work/suite" && SP_PORT=$port AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x \
        timeout 900 "$work/node_modules/.bin/mocha" --require should --reporter json -t 60000 \
        "test/$f" >"$out" 2>/dev/null) || true
    read -r p t < <(python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['stats']; \
print(s['passes'], s['tests'])" "$out" 2>/dev/null || echo "0 0")
    echo "$f: $p of $t pass"
    pass=$((pass + p)); total=$((total + t))
done
echo "total: $pass of $total pass"
