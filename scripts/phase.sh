#!/usr/bin/env bash
# Runs one setup phase of `make demo` quietly: its output goes to LOG, the terminal gets one
# line with the phase's name, result and time (`build ok (21.3 s)`). On failure the line
# names the log and the end of the log follows, and the phase's exit code is returned.
#   phase.sh NAME LOG command [args...]
set -uo pipefail
name=$1 log=$2
shift 2
mkdir -p "$(dirname "$log")"
start=$(date +%s%N)
echo "=== $name: $* ($(date -u +%FT%TZ))" >>"$log"
"$@" >>"$log" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
secs="$((ms / 1000)).$(((ms % 1000) / 100))"
if [ $rc -eq 0 ]; then
  echo "$name ok ($secs s)"
else
  echo "$name failed ($secs s, exit $rc); its output is in $log:" >&2
  tail -n 30 "$log" >&2
fi
exit $rc
