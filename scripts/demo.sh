#!/usr/bin/env bash
# make demo: shows what trimtab reads from examples/.
set -euo pipefail
bin=${1:-build/cmd/trimtab}
top=$(cd "$(dirname "$0")/.." && pwd)
echo "== trimtab $("$bin" version | head -1 | cut -d' ' -f2): what examples/ asks for"
"$bin" validate -v "$top/examples"
