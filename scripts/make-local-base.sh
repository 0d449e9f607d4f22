#!/usr/bin/env bash
# Builds a Node base image from this machine's own files, for building the reclaimd image
# where no registry can be reached (the tests, CI):
#
#   scripts/make-local-base.sh [TAG]      # default TAG: reclaimd-test/node-base:local
#   docker build --network host --build-arg BASE=reclaimd-test/node-base:local .
#
# The image is FROM scratch and holds: the machine's node binary and the shared libraries it
# links (as ldd lists them), npm with the machine's global npmrc and CA bundle (the build
# stage runs `npm ci` through whatever registry and certificates this machine uses), a static
# busybox for /bin/sh and the few commands RUN steps need, and minimal /etc files. It stands
# in for node:20-bookworm-slim with the same paths (/usr/local/bin/node, npm beside it).
#
# It talks to the engine named by DOCKER_HOST, like the docker CLI. The image carries the
# label reclaimd-test=base so a test run can find and remove it.
set -euo pipefail

tag="${1:-reclaimd-test/node-base:local}"
node_bin="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
busybox_bin=""
for candidate in /bin/busybox /usr/bin/busybox; do
  # Only a static busybox works in an image without its libraries.
  if [ -x "$candidate" ] && ! ldd "$candidate" >/dev/null 2>&1; then busybox_bin="$candidate"; break; fi
done
if [ -z "$busybox_bin" ]; then
  echo "make-local-base: a static busybox is needed (apt-get install busybox-static)" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,etc,tmp,root,usr/local/bin,usr/local/lib,usr/local/etc,etc/ssl/certs}
chmod 1777 "$root/tmp"

# node, and every library it links, each at the path the dynamic loader will look for it.
cp "$node_bin" "$root/usr/local/bin/node"
# The debug information is most of the binary's size and nothing at run time needs it.
if command -v strip >/dev/null 2>&1; then strip --strip-debug "$root/usr/local/bin/node"; fi
ldd "$node_bin" | grep -oE '/[^ ]+' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

# npm, laid out as in the official images; its shebang finds node through busybox's env.
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
globalrc="$(npm config get globalconfig 2>/dev/null || true)"
if [ -n "$globalrc" ] && [ -f "$globalrc" ]; then cp "$globalrc" "$root/usr/local/etc/npmrc"; fi
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"; fi

# busybox as /bin/sh and the usual commands (mkdir, chown, env, id ...).
cp "$busybox_bin" "$root/bin/busybox"
for applet in $("$busybox_bin" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
mkdir -p "$root/usr/bin"
ln -s ../../bin/busybox "$root/usr/bin/env"   # for the "#!/usr/bin/env node" of npm

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"

cat >"$work/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin
LABEL reclaimd-test=base org.opencontainers.image.description="node from the build machine, for tests only"
CMD ["node"]
EOF
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work" >/dev/null
echo "$tag"
