#!/usr/bin/env bash
# Prints the python3 interpreter that has every module named on the command line:
# the python3 on PATH first (it may carry botocore, boto3 and moto), then Debian's.
# Exits 1, printing nothing, when neither has them all.
set -u
code="import importlib.util, sys; sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1:]) else 1)"
for py in "$(command -v python3 2>/dev/null)" /usr/bin/python3; do
    [ -n "$py" ] && [ -x "$py" ] || continue
    if "$py" -c "$code" "$@" 2>/dev/null; then
        echo "$py"
        exit 0
    fi
done
exit 1
