#!/bin/sh
# reconcile/ (the engine) must not depend on providers/ (SPEC §1, issue 10): it gets the
# provider registry and its way to AWS from cmd/. Fails listing every include that breaks this.
cd "$(dirname "$0")/.." || exit 2
bad=0
for h in $(find providers -name '*.h' -exec basename {} \;); do
    if grep -n "#include \"$h\"" reconcile/*.c reconcile/*.h; then
        bad=1
    fi
done
[ "$bad" -eq 0 ] || echo "reconcile/ includes providers/ headers (above): pass what it needs through tt_engine_config"
exit "$bad"
