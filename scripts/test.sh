#!/usr/bin/env bash
# Runs every test from a fresh checkout: installs the test dependencies (the machine's Docker
# engine, Docker 28.5 from Debian sid, static busybox, ...), installs and builds the project,
# typechecks it, runs the unit tests once and the integration tests once per engine:
#
#   docker-20.10             the machine's docker.io (bookworm), classic overlay2 store
#   docker-28.5              Docker 28.5, classic overlay2 store
#   docker-28.5-containerd   Docker 28.5, containerd image store (the default of Docker 29)
#
# Each integration run starts and stops a throwaway engine of its own; none touches the
# host's. RECLAIMD_TEST_ENGINES (space-separated) runs a subset. Every run goes ahead even
# when an earlier one failed; the exit status is non-zero if any did.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
scripts/install-engines.sh >/dev/null
npm ci --no-audit --no-fund
npm run -s typecheck
npm run -s lint
npm run -s deps
npx tsc -p tsconfig.build.json

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
status=0
run() { # name, then vitest arguments
  local name="$1"
  shift
  npx vitest run "$@" --reporter=default --reporter=json --outputFile.json="$results/$name.json" || status=1
}
run unit --project unit
for engine in ${RECLAIMD_TEST_ENGINES:-docker-20.10 docker-28.5 docker-28.5-containerd}; do
  RECLAIMD_TEST_ENGINE="$engine" run "$engine" --project integration
done

# One line per run, then the sum: what CI reads.
node -e '
  const fs = require("node:fs");
  const dir = process.argv[1];
  let passed = 0, failed = 0, skipped = 0;
  for (const name of process.argv.slice(2)) {
    const file = `${dir}/${name}.json`;
    if (!fs.existsSync(file)) { console.log(`${name}: 0 passed, 1 failed (no report)`); failed++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    const s = r.numPendingTests + r.numTodoTests;
    console.log(`${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${s} skipped`);
    passed += r.numPassedTests; failed += r.numFailedTests; skipped += s;
  }
  console.log(`total: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$results" unit ${RECLAIMD_TEST_ENGINES:-docker-20.10 docker-28.5 docker-28.5-containerd}
exit "$status"
