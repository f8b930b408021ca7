#!/usr/bin/env bash
# Runs every test file under test/ with node:test through tsx, one file at a time (the tests
# train real models and use both cores). Extra arguments are passed to node --test.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 "$@" "${files[@]}"
