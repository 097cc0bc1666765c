#!/usr/bin/env bash
# The committed models (providers/aws/models) are exactly what gen_models.py extracts from the
# installed botocore. Skipped (77) when that botocore is another version than the one the
# models were generated from (recorded in each file's metadata).
# Usage: models_fresh.sh PYTHON SOURCE_DIR
set -euo pipefail
py=$1
src=$2
have=$("$py" -c 'import botocore; print(botocore.__version__)' 2>/dev/null || echo none)
want=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["botocoreVersion"])' \
    "$src/providers/aws/models/sts.json")
if [ "$have" != "$want" ]; then
    echo "models come from botocore $want, this python has $have: skipped"
    exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$py" "$src/providers/aws/gen_models.py" "$out"
if ! diff -ru "$src/providers/aws/models" "$out" >"$out.diff"; then
    head -50 "$out.diff"
    echo "providers/aws/models is stale: run providers/aws/gen_models.py and commit the result"
    rm -f "$out.diff"
    exit 1
fi
rm -f "$out.diff"
echo "models match botocore $have ($(ls "$out" | wc -l) services)"
