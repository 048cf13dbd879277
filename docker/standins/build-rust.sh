#!/usr/bin/env bash
# Builds the stand-in for rust:1.95-bookworm. Needs this machine's rustup toolchain 1.95.
. "$(dirname "$0")/common.sh"
debian_image
# The 1.95 toolchain: SRC_TOOLCHAIN, else rustup's 1.95.0, else the default one if it is 1.95.
SRC_TC="${SRC_TOOLCHAIN:-$(rustup toolchain list -v | awk '/^1\.95\.0-x86_64-unknown-linux-gnu/{print $NF}')}"
[ -n "$SRC_TC" ] || SRC_TC="$(rustc --print sysroot)"
SRC_TC="$(readlink -f "$SRC_TC")"
"$SRC_TC/bin/rustc" --version | grep -q '^rustc 1\.95\.' || { log "no 1.95 toolchain at $SRC_TC"; exit 1; }
CTX="$STANDIN_WORK/rust-ctx"
rm -rf "$CTX"; mkdir -p "$CTX/rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu" "$CTX/cargo"
cp "$HERE/rust/Dockerfile" "$CTX/"
mkdir -p "$CTX/extra-ca"
cp /usr/local/share/ca-certificates/*.crt "$CTX/extra-ca/" 2>/dev/null || true
log "host CAs added to the stand-in: $(ls "$CTX/extra-ca" | tr '\n' ' ')"
log "copying toolchain $SRC_TC (without share/doc) into the context"
tar -C "$SRC_TC" --exclude=./share/doc -cf - . | tar -C "$CTX/rustup/toolchains/1.95.0-x86_64-unknown-linux-gnu" -xf -
printf 'version = "12"\ndefault_toolchain = "1.95.0-x86_64-unknown-linux-gnu"\nprofile = "minimal"\n' > "$CTX/rustup/settings.toml"
mkdir -p "$CTX/rustup/update-hashes" "$CTX/rustup/downloads" "$CTX/rustup/tmp"
cp -a "$(dirname "$(command -v rustup)")" "$CTX/cargo/bin"   # rustup + its proxies (symlinks)
# Only rustup's proxies, not the host's cargo-installed tools.
( cd "$CTX/cargo/bin" && for f in *; do
    case "$f" in rustup|cargo|cargo-clippy|cargo-fmt|clippy-driver|rustc|rustdoc|rustfmt|rust-gdb|rust-gdbgui|rust-lldb) ;; *) rm -f "$f";; esac
  done )
chmod -R a+w "$CTX/rustup" "$CTX/cargo"
log "docker build -t rust:1.95-bookworm"
docker build --network host -t rust:1.95-bookworm "$CTX" >&2
rm -rf "$CTX"
docker run --rm rust:1.95-bookworm sh -c 'rustc --version; cargo --version; gcc --version | head -1; echo RUSTUP_HOME=$RUSTUP_HOME CARGO_HOME=$CARGO_HOME PATH=$PATH'
