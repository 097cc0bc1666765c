#!/usr/bin/env bash
# make demo: validates examples/ and prints what each resource asks for.
set -euo pipefail
bin=${1:-build/cmd/trimtab}
"$bin" version
