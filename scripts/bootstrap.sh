#!/usr/bin/env bash
# Installs what charter needs on a fresh Debian machine with node/npm and cargo:
# Deno from the npm package `deno`, the shim's crates (from Debian when crates.io is
# unreachable), and a release build of the shim. Idempotent; prints where Deno is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deno_version=2.9.6

log() { printf 'bootstrap: %s\n' "$*" >&2; }

# apt_install WHY PACKAGE...: installs the Debian packages given, if any (sudo when not root).
apt_install() {
  local why=$1
  shift
  [ $# -gt 0 ] || return 0
  log "$why: installing $* from Debian"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

install_deno() {
  if command -v deno >/dev/null 2>&1; then return; fi
  local bin="$root/.tools/bin/deno"
  if [ ! -x "$bin" ]; then
    log "installing deno $deno_version from npm into .tools/"
    mkdir -p "$root/.tools/bin"
    npm install --silent --no-audit --no-fund --prefix "$root/.tools" "deno@$deno_version" >&2
    local found
    found=$(find "$root/.tools/node_modules/@deno" -maxdepth 2 -type f -name deno | head -n 1)
    [ -n "$found" ] || { log "npm installed no deno binary for $(uname -m)"; exit 1; }
    # Relative, so a copy or a move of the checkout keeps a working link.
    ln -sf "../${found#"$root/.tools/"}" "$bin"
  fi
}

# Debian's librust-*-dev packages are the crate source when crates.io cannot be reached.
debian_crates=(librust-libc-dev librust-ring-dev librust-serde-dev librust-serde-derive-dev
  librust-serde-json-dev)

crates_io_reachable() {
  # A throwaway crate with one dependency: does not depend on our lock file.
  local probe
  probe=$(mktemp -d)
  mkdir -p "$probe/src" && : > "$probe/src/lib.rs"
  printf '[package]\nname = "probe"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nlibc = "0.2"\n' > "$probe/Cargo.toml"
  local rc=0
  timeout 20 cargo fetch --quiet --manifest-path "$probe/Cargo.toml" >/dev/null 2>&1 || rc=1
  rm -rf "$probe"
  return $rc
}

# Prints the cargo flags for the crate source: none for crates.io, the Debian directory
# source otherwise (installing the librust-*-dev packages it needs).
cargo_source_flags() {
  if [ -z "${CHARTER_CARGO_DEBIAN:-}" ] && crates_io_reachable; then
    # The committed Cargo.lock is Debian's (Debian patches ring's dependencies), so
    # crates.io needs a lock of its own.
    log "crates.io reachable: regenerating rust-shim/Cargo.lock for it"
    cargo generate-lockfile --quiet --manifest-path "$root/rust-shim/Cargo.toml" >&2
    return
  fi
  local missing=()
  for p in "${debian_crates[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  apt_install "crates.io unreachable" "${missing[@]}"
  printf '%s\n' --locked --offline --config 'source.crates-io.replace-with="debian"' \
    --config 'source.debian.directory="/usr/share/cargo/registry"'
}

build_shim() {
  # The crate source is decided once per checkout: probing crates.io can take seconds.
  if [ ! -f "$root/.tools/cargo-flags" ]; then
    cargo_source_flags > "$root/.tools/cargo-flags.new"
    mv "$root/.tools/cargo-flags.new" "$root/.tools/cargo-flags"
  fi
  mapfile -t flags < "$root/.tools/cargo-flags"
    [ -f "$root/rust-shim/target/release/libcharter_shim.so" ] || log "building the shim (cargo build --release)"
  cargo build --quiet --release "${flags[@]}" --manifest-path "$root/rust-shim/Cargo.toml" >&2
  # ./charter compares the shim's sources with this stamp (cargo may leave the library's
  # own time alone when nothing changed).
  touch "$root/.tools/shim.stamp"
}

# Fills the checkout's Deno cache, which ./charter uses (read-only for other users).
cache_modules() {
  DENO_DIR="$root/.deno_dir" "$1" cache --quiet "$root/cli.ts" "$root/mod.ts" >&2
}

# What the test suite needs besides Deno and the shim: peers it compares against
# (libseccomp's resolver and Python bindings), jq and openssl for the auditor docs, and
# setpriv for the unprivileged tests, rsyslog and systemd-journald as real log receivers of
# transcripts.
install_test_tools() {
  local missing=()
  command -v scmp_sys_resolver >/dev/null 2>&1 || missing+=(seccomp)
  /usr/bin/python3 -c 'import seccomp' >/dev/null 2>&1 || missing+=(python3-seccomp)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
  command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  command -v rsyslogd >/dev/null 2>&1 || missing+=(rsyslog)
  [ -x /lib/systemd/systemd-journald ] || missing+=(systemd)
  apt_install "test tools" "${missing[@]}"
}

mkdir -p "$root/.tools"
install_deno
build_shim
deno=$(command -v deno 2>/dev/null || echo "$root/.tools/bin/deno")
cache_modules "$deno"
if [ "${1:-}" = "--test" ]; then install_test_tools; fi
echo "$deno"
