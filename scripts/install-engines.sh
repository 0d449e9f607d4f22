#!/usr/bin/env bash
# Installs the newer Docker engine the integration tests also run on: Docker 28.5 (dockerd,
# containerd, the runc shim, docker-init, docker-proxy, the docker CLI and buildx), taken from
# Debian's sid suite of the archive this machine already uses and unpacked into a directory
# of its own. The machine's own apt state is left alone: a private apt configuration (its own
# sources list, lists and cache) downloads the packages, and `dpkg -x` unpacks them; nothing
# is installed into the system. bookworm's runc (from docker.io, installed by
# install-test-deps.sh) runs the containers: sid's needs a newer glibc than bookworm's.
#
# Beside it, the same way, the Docker Compose v2 plugin (sid's docker-compose): the Compose
# recipe's test runs `docker compose` on every engine, and bookworm only has Compose v1. It
# has a directory of its own, compose/cli-plugins, so that adding it left the engine alone.
#
#   scripts/install-engines.sh            # prints the directory whose bin/ goes first on PATH
#
# Cached per machine: a second run finds the unpacked engine and plugin and downloads nothing.
# The directory is RECLAIMD_ENGINES_DIR (default /var/cache/reclaimd/engines).
set -euo pipefail

want="28.5"   # the Docker release line to test; sid's docker.io must be a 28.5.x
root="${RECLAIMD_ENGINES_DIR:-/var/cache/reclaimd/engines}"
dest="$root/docker-$want"
compose_dest="$root/compose"
bins=(dockerd containerd containerd-shim-runc-v2 docker-init docker-proxy docker)

ready() {
  for b in "${bins[@]}"; do [ -x "$dest/bin/$b" ] || return 1; done
  [ -x "$dest/cli-plugins/docker-buildx" ] || return 1
  "$dest/bin/dockerd" --version 2>/dev/null | grep -q "Docker version $want\."
}
compose_ready() {
  "$compose_dest/cli-plugins/docker-compose" version >/dev/null 2>&1
}
if ready && compose_ready; then echo "$dest"; exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main" >"$work/sources.list"
: >"$work/status"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Dir::State::status=$work/status"
  -o "APT::Architecture=$(dpkg --print-architecture)" -o APT::Sandbox::User=root -o Debug::NoLocking=1
)
echo "downloading Docker $want and Compose v2 from Debian sid, as needed (for the integration tests)" >&2
apt-get "${apt_opts[@]}" -qq update >&2
r="$work/root"

if ! ready; then
  # The newest 28.5.x that sid offers, so the tests never drift to another release line unnoticed.
  version="$(apt-cache "${apt_opts[@]}" madison docker.io | awk -v w="$want" '$3 ~ "^" w "\\." {print $3; exit}')"
  if [ -z "$version" ]; then
    echo "install-engines: Debian sid offers no docker.io $want.x; it has:" >&2
    apt-cache "${apt_opts[@]}" madison docker.io >&2
    exit 1
  fi
  (cd "$work/debs" && apt-get "${apt_opts[@]}" -qq download "docker.io=$version" docker-cli containerd docker-buildx tini-static >&2)
  for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$r"; done

  stage="$root/.docker-$want.$$"
  rm -rf "$stage"
  mkdir -p "$stage/bin" "$stage/cli-plugins"
  install -m 0755 "$r/usr/sbin/dockerd" "$r/usr/sbin/docker-proxy" "$r/usr/bin/containerd" "$r/usr/bin/containerd-shim-runc-v2" "$r/usr/bin/docker" "$stage/bin/"
  # sid's docker-init is a link to tini-static, which its own package brings.
  install -m 0755 "$r/usr/bin/tini-static" "$stage/bin/docker-init"
  install -m 0755 "$r/usr/libexec/docker/cli-plugins/docker-buildx" "$stage/cli-plugins/"
  (cd "$work/debs" && ls) >"$stage/PACKAGES"
  rm -rf "$dest"
  mv "$stage" "$dest"
  ready || { echo "install-engines: the unpacked dockerd in $dest does not run" >&2; exit 1; }
fi

if ! compose_ready; then
  mkdir -p "$work/compose"
  (cd "$work/compose" && apt-get "${apt_opts[@]}" -qq download docker-compose >&2)
  dpkg -x "$work"/compose/docker-compose_*.deb "$work/compose/root"
  stage="$root/.compose.$$"
  rm -rf "$stage"
  mkdir -p "$stage/cli-plugins"
  install -m 0755 "$work/compose/root/usr/libexec/docker/cli-plugins/docker-compose" "$stage/cli-plugins/"
  (cd "$work/compose" && ls ./*.deb) >"$stage/PACKAGES"
  rm -rf "$compose_dest"
  mv "$stage" "$compose_dest"
  compose_ready || { echo "install-engines: the unpacked Compose plugin in $compose_dest does not run" >&2; exit 1; }
fi
echo "$dest"
