# Shared by the stand-in builders. Sourced, not executed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Work area for rootfs trees and tarballs (kept between runs: a rerun reuses the debootstrap).
STANDIN_WORK="${STANDIN_WORK:-/var/tmp/standins}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
mkdir -p "$STANDIN_WORK"
log() { printf '[standins %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# base_tarball: a debootstrap --variant=minbase bookworm rootfs as a tarball, built once.
base_tarball() {
  local tb="$STANDIN_WORK/bookworm-minbase.tar"
  if [ ! -s "$tb" ]; then
    command -v debootstrap >/dev/null || { log "installing debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; }
    local root="$STANDIN_WORK/bookworm-minbase"
    rm -rf "$root"
    log "debootstrap --variant=minbase $SUITE -> $root"
    debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >&2
    # What the official debian:bookworm image does to keep apt lean (docker-debian-artifacts).
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$root/etc/apt/apt.conf.d/docker-no-recommends"
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
      "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" > "$root/etc/apt/sources.list"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" --numeric-owner -cf "$tb.tmp" . && mv "$tb.tmp" "$tb"
    rm -rf "$root"
  fi
  echo "$tb"
}

# debian_image: the minbase rootfs imported as standin/debian:bookworm (the FROM of the
# rust and postgres stand-ins; it is not a name the project uses).
debian_image() {
  if ! docker image inspect standin/debian:bookworm >/dev/null 2>&1; then
    local tb; tb="$(base_tarball)"
    log "docker import $tb -> standin/debian:bookworm"
    docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["bash"]' \
      "$tb" standin/debian:bookworm >&2
  fi
}
