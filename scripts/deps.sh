#!/usr/bin/env bash
# Installs whatever trimtab's build and tests need that this machine lacks, and nothing else.
# Fast when everything is present: one dpkg-query, no apt-get at all.
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
    libcurl4-openssl-dev libyaml-dev libjansson-dev libev-dev libssl-dev libxml2-dev
    libcmocka-dev valgrind
    python3 python3-botocore python3-boto3 python3-jsonschema python3-yaml awscli
    unzip ca-certificates openssl
)
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
