#!/usr/bin/env bash
# Runs every test suite: the shim's cargo tests and the Deno tests (which launch real
# processes through the real shim). Ends with one line "N passed, M failed" over all
# suites; exits non-zero if anything failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deno=$("$root/scripts/bootstrap.sh" --test) || { echo "0 passed, 1 failed"; exit 1; }
mapfile -t cargo_flags < "$root/.tools/cargo-flags"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

echo "== cargo test (rust-shim)"
cargo test "${cargo_flags[@]}" --manifest-path "$root/rust-shim/Cargo.toml" 2>&1 | tee "$log/cargo"
cargo_rc=${PIPESTATUS[0]}

echo "== deno test"
(cd "$root" && NO_COLOR=1 "$deno" test -A tests/ "$@") 2>&1 | tee "$log/deno"
deno_rc=${PIPESTATUS[0]}

# cargo prints one "test result:" line per test binary; deno one "ok | N passed | M failed".
read -r cargo_passed cargo_failed < <(awk '/^test result:/ {
  for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { print p + 0, f + 0 }' "$log/cargo")
read -r deno_passed deno_failed < <(awk '/^(ok|FAILED) \| / { for (i = 1; i <= NF; i++) {
  if ($(i+1) == "passed") p = $i; if ($(i+1) == "failed") f = $i } } END { print p + 0, f + 0 }' "$log/deno")
passed=$((cargo_passed + deno_passed))
failed=$((cargo_failed + deno_failed))
# A suite that crashed before reporting counts as a failure even if no test line says so.
if [ "$cargo_rc" -ne 0 ] && [ "$cargo_failed" -eq 0 ]; then failed=$((failed + 1)); fi
if [ "$deno_rc" -ne 0 ] && [ "$deno_failed" -eq 0 ]; then failed=$((failed + 1)); fi
echo "cargo: $cargo_passed passed, $cargo_failed failed; deno: $deno_passed passed, $deno_failed failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
