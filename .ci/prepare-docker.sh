#!/usr/bin/env bash
# A Docker engine for test/integration/docker-image.test.ts (the image built and run): Debian's
# docker.io, its daemon started when none answers. Exits non-zero when there can be none here; the
# test is then skipped. Idempotent.
#
# The Dockerfile's base image comes from Docker Hub. Where the registry cannot be reached, a stand-in
# is made under the same name: Debian bookworm (minbase, from the Debian mirror apt uses) with this
# machine's Node and npm in /usr/local and the `node` user (uid 1000), as the official image has them.
# The build then tests our Dockerfile, not that image: CI says so when it happens.
set -euo pipefail

BASE_IMAGE=node:20-bookworm-slim

if ! command -v dockerd >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq -o Dpkg::Use-Pty=0 docker.io >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq -o Dpkg::Use-Pty=0 docker.io >/dev/null
  fi
fi
if ! docker info >/dev/null 2>&1; then
  # No systemd here: the daemon as a background process, as prepare-services.sh starts Redis.
  nohup dockerd >/var/log/dockerd-ci.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  if ! docker info >/dev/null 2>&1; then
    echo "no Docker engine could start here (/var/log/dockerd-ci.log):" >&2
    tail -5 /var/log/dockerd-ci.log >&2
    exit 1
  fi
fi

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || timeout 120 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
  exit 0
fi

echo "Docker Hub cannot be reached: $BASE_IMAGE is a stand-in made from Debian bookworm and this machine's Node $(node -v)"
if ! command -v debootstrap >/dev/null; then
  apt-get install -y -qq -o Dpkg::Use-Pty=0 debootstrap >/dev/null
fi
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
install -m 0755 "$(readlink -f "$(command -v node)")" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$(npm root -g)/npm" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" /bin/sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
# A machine that reaches the npm registry through its own certificate authority: the build's `npm ci` needs it too.
changes=(-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["node"]')
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  mkdir -p "$rootfs$(dirname "$NODE_EXTRA_CA_CERTS")"
  cp "$NODE_EXTRA_CA_CERTS" "$rootfs$NODE_EXTRA_CA_CERTS"
  changes+=(-c "ENV NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS")
fi
tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$BASE_IMAGE" >/dev/null
