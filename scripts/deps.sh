#!/usr/bin/env bash
# Installs what salespipe needs to build, run and test, and only what is missing:
# Debian packages through apt-get, npm test oracles into tools/node_modules (git-ignored).
# Idempotent: a second run with everything present does nothing and takes a second.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

debs=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libsqlite3-dev sqlite3 libmicrohttpd-dev libjansson-dev libjq-dev libyaml-dev
  zlib1g-dev libzstd-dev libssl-dev libcurl4-openssl-dev libsnappy-dev libcmocka-dev
  python3 python3-boto3 python3-pytest awscli gzip zstd jq
)
# Node.js for the oracles: some machines ship it with npm built in (nodesource), where
# Debian's npm package conflicts; ask apt only for what is not already on the PATH.
command -v node >/dev/null || debs+=(nodejs)
command -v npm >/dev/null || debs+=(npm)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || true
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm oracles: peers for comparison tests and benchmarks, never used at run time.
oracles=(kinesalite@3 dynalite@3)
if [ "${SALESPIPE_SKIP_NPM:-0}" != 1 ] && command -v npm >/dev/null; then
  mkdir -p "$here/tools"
  need=0
  for o in "${oracles[@]}"; do
    [ -d "$here/tools/node_modules/${o%@*}" ] || need=1
  done
  if [ $need = 1 ]; then
    echo "deps: installing npm oracles ${oracles[*]}"
    [ -f "$here/tools/package.json" ] || echo '{"name":"salespipe-oracles","private":true}' > "$here/tools/package.json"
    (cd "$here/tools" && npm install --no-audit --no-fund --silent "${oracles[@]}") \
      || echo "deps: npm oracles not installed; comparison tests will be skipped"
  fi
fi
