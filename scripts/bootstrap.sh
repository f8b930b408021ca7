#!/usr/bin/env bash
# Idempotent, non-interactive setup for a fresh Debian 12 machine with Node 20:
# system packages (only what is missing), npm ci (only when needed), the native addon (only when stale),
# and the CLI bundle (dist/cli/: bin/tlc.mjs runs it instead of the TypeScript sources while it is fresh).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[bootstrap] $*" >&2; }

need=()
for pkg in libdnnl-dev build-essential python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# the queue tests (test/study/queue*.test.ts) start their own redis-server on a loopback port
dpkg -s redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ "${TLC_WITH_TORCH:-0}" = "1" ]; then
  # OpenBLAS with PyTorch: without it Debian's python3-torch runs on the reference BLAS (~30x slower)
  for pkg in python3-torch libopenblas0-openmp; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
fi
# Chromium: test/report/browser.test.ts opens the study report in it (through playwright-core)
dpkg -s chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != "0" ]; then
    log "missing system packages: ${need[*]}; run as root or: sudo apt-get install -y ${need[*]}"
    exit 1
  fi
  log "installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# the data recipes download Debian packages with apt-get download: apt must know the archive
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  log "apt-get update (the data recipes need the package lists)"
  apt-get update -qq
fi

# python3-onnx: the ONNX export tests run its checker on every exported file (and skip that check without it)
if ! dpkg -s python3-onnx >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    log "installing python3-onnx with apt-get (the ONNX export tests' checker)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-onnx >/dev/null ||
      log "warning: python3-onnx did not install; the ONNX checker tests will be skipped"
  else
    log "python3-onnx is missing (the ONNX checker tests will be skipped); as root: apt-get install -y python3-onnx"
  fi
fi

stamp=node_modules/.tlc-lock-stamp
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "npm ci"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --ignore-scripts >&2
  cp package-lock.json "$stamp"
fi

addon=build/Release/tlc_native.node
if [ ! -f "$addon" ] || [ -n "$(find src/native binding.gyp -newer "$addon" -type f 2>/dev/null | head -n 1)" ]; then
  log "building the native addon (node-gyp, oneDNN)"
  nodedir=(); [ -f /usr/include/node/node_version.h ] && nodedir=(--nodedir=/usr)
  npx --no-install node-gyp rebuild -j 2 "${nodedir[@]}" >build-native.log 2>&1 || { cat build-native.log >&2; exit 1; }
fi

# a fraction of a second; without it bin/tlc.mjs still works, through tsx (slower start, more memory)
node scripts/build-cli.mjs || log "warning: the CLI bundle did not build; tlc runs from the sources through tsx"
