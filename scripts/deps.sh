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
  python3 python3-botocore python3-boto3 python3-pytest awscli gzip zstd jq
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
      || echo "deps: npm oracles not installed; comparison tests will be skipped"
  fi
fi
