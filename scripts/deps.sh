#!/usr/bin/env bash
# Installs what salespipe needs, and only what is missing, for one of two purposes:
#   deps.sh demo   what building and running the demo needs: a C toolchain and the libraries
#   deps.sh [test] everything: the demo's packages, the test clients (boto3, awscli, pytest),
#                  cmocka, clang for the fuzzers, and the npm test oracles in tools/node_modules
#   deps.sh --list demo|test   prints the Debian packages of that purpose and installs nothing
# Debian packages come through apt-get with --no-upgrade: a package already installed is never
# upgraded. Idempotent: a second run with everything present does nothing and takes a second.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

list_only=0
if [ "${1:-}" = --list ]; then list_only=1; shift; fi
purpose=${1:-test}
case "$purpose" in demo|test) ;; *) echo "deps.sh: unknown purpose '$purpose' (demo or test)" >&2; exit 2;; esac

# What the binary needs to build and run (DESIGN.md's dependencies); python3 and botocore's
# service models generate the request validation tables at build time.
debs=(
  build-essential cmake pkg-config python3 python3-botocore
  libsqlite3-dev libmicrohttpd-dev libjansson-dev libjq-dev libyaml-dev
  zlib1g-dev libzstd-dev libssl-dev libcurl4-openssl-dev libsnappy-dev libcbor-dev librdkafka-dev
)
# What the tests, fuzzers and benchmarks need on top.
if [ "$purpose" = test ]; then
  debs+=(clang libclang-rt-14-dev libcmocka-dev sqlite3 python3-boto3 python3-pytest awscli
         python3-cbor2 gzip zstd jq chromium)
  # Node.js for the oracles: some machines ship it with npm built in (nodesource), where
  # Debian's npm package conflicts; ask apt only for what is not already on the PATH.
  command -v node >/dev/null || debs+=(nodejs)
  command -v npm >/dev/null || debs+=(npm)
fi
if [ "$list_only" = 1 ]; then
  printf '%s\n' "${debs[@]}"
  exit 0
fi

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq || true
  $sudo apt-get install -y -qq --no-install-recommends --no-upgrade "${missing[@]}"
fi
[ "$purpose" = test ] || exit 0

# npm oracles: peers for comparison tests and benchmarks, never used at run time. The list is
# the committed tools/package.json; `npm install` runs only when node_modules lacks one of its
# packages, so a second run is silent.
if [ "${SALESPIPE_SKIP_NPM:-0}" != 1 ] && command -v npm >/dev/null && command -v node >/dev/null \
   && [ -f "$here/tools/package.json" ]; then
  missing_npm=$(cd "$here/tools" && node -e '
    const fs = require("fs");
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
    const names = Object.keys(Object.assign({}, pkg.dependencies, pkg.devDependencies));
    console.log(names.filter(n => !fs.existsSync("node_modules/" + n + "/package.json")).join(" "));
  ') || missing_npm="(unreadable tools/package.json)"
  if [ -n "$missing_npm" ]; then
    echo "deps: installing npm oracles from tools/package.json (missing: $missing_npm)"
    (cd "$here/tools" && npm install --no-audit --no-fund --silent) \
      || { echo "deps: npm oracles not installed; comparison tests will be skipped"
           # in CI a skipped test is a failed one: stop here with the cause
           [ "${CI:-}" != true ] || exit 1; }
  fi
fi
