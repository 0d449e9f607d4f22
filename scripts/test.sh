#!/usr/bin/env bash
# Runs every test from a fresh checkout: installs the test dependencies (Docker engine,
# static busybox), installs and builds the project, then runs unit and integration tests.
# The integration tests start and stop their own throwaway engine; they never touch the host's.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
npm ci --no-audit --no-fund
npm test
