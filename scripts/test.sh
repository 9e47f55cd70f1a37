#!/usr/bin/env bash
# `npm test`: every test of the project — unit, integration, system, kernel interop.
# Installs what the tests need from Debian first, builds, then runs vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -f build/Release/udrbd.node ] || npx cmake-js compile --directory . --out build
npm run --silent build
# The tests are TypeScript too: type-check them (vitest only strips types).
npx tsc -p tsconfig.test.json
exec npx vitest run "$@"
