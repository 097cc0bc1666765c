#!/usr/bin/env bash
# Runs every libFuzzer target of a TT_FUZZ build for SECONDS each (default 600).
# Corpora live in fuzz-out/<target>/ (kept between runs); findings are written there as crash-*.
# Seeds: examples/ and tests/crds/ manifests for the manifest fuzzer; each target's own
# tests/fuzz/corpus/<target>/ folder when it exists.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-600}
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    out="$top/fuzz-out/$name"
    mkdir -p "$out/corpus"
    if [ "$name" = fuzz_manifest ]; then
        find "$top/examples" "$top/tests/crds" \( -name '*.yaml' -o -name '*.json' \) 2>/dev/null |
            while read -r f; do cp "$f" "$out/corpus/seed-$(echo "$f" | md5sum | cut -c1-12)"; done ||
            true
    fi
    if [ -d "$top/tests/fuzz/corpus/$name" ]; then
        cp -r "$top/tests/fuzz/corpus/$name/." "$out/corpus/"
    fi
    echo "== $name for ${seconds}s"
    if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        -artifact_prefix="$out/" "$out/corpus" 2>"$out/log.txt"; then
        echo "$name: finding, see $out/ and $out/log.txt"
        status=1
    fi
    tail -n 3 "$out/log.txt"
done
exit $status
