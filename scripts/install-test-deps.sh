#!/usr/bin/env bash
# Installs what the integration tests need on a Debian machine: a Docker engine (the tests
# start a throwaway one of their own), a static busybox to build test images FROM scratch,
# openssl to make the certificates of the TLS test, Prometheus and promtool, docker-compose
# and systemd-analyze for the deploy recipes, and docker-registry for a registry of the tests'
# own. Does nothing when all are already there. (Docker 28.5: scripts/install-engines.sh.)
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# prometheus and promtool: the observability test runs the real binaries (never the packaged service).
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# The container-image test builds and runs the image with the docker CLI; the deploy recipes
# are checked by docker-compose (Compose file) and systemd-analyze (systemd unit). The Compose
# recipe's test runs Compose v2 (`docker compose`), which scripts/install-engines.sh unpacks;
# the systemd recipe's test uses setpriv and getent, which every Debian system has.
command -v docker >/dev/null 2>&1 || [[ " ${need[*]} " == *" docker.io "* ]] || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# The archive tests push to and pull from a registry they start on loopback (never the packaged service).
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing ${need[*]} (needed by the integration tests)" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
