#!/usr/bin/env bash
# The release build's own libcurl, libmicrohttpd and libxml2: Debian's source packages (with
# Debian's patches, security fixes included), built as static libraries with only what trimtab
# uses, installed under PREFIX for `cmake -DTT_LEAN_DEPS=PREFIX`.
#
# Why: Debian's shared builds carry every feature for every user, and each feature's library is
# mapped into trimtab too: libcurl brings GnuTLS (through librtmp and libldap), Kerberos, SASL,
# libssh2, libpsl and libidn2; libmicrohttpd brings GnuTLS and p11-kit for HTTPS that /metrics
# does not serve; libxml2 brings ICU and libstdc++. Loading them keeps ~5 MiB of library pages
# resident in every trimtab process (bench/engine/README.md) and puts their code in the image.
# The lean builds keep what trimtab uses: curl with HTTP and HTTPS over OpenSSL, gzip and
# proxies; microhttpd without HTTPS; libxml2's parser and tree without ICU, liblzma, zlib,
# network access, XPath and schemas.
#
#   scripts/lean-deps.sh PREFIX      (fast when PREFIX already holds this script's build)
#
# Sources come through apt from the deb-src twins of the machine's own Debian entries, in a
# private apt state under a temporary directory (the machine's apt configuration is not
# changed).
set -euo pipefail
prefix=${1:?usage: lean-deps.sh PREFIX}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
packages=(curl libmicrohttpd libxml2)

# The stamp names this script's text, so changing an option rebuilds.
want=$(sha256sum "$0" | cut -d' ' -f1)
if [ -f "$prefix/.lean-deps" ] && [ "$(cat "$prefix/.lean-deps")" = "$want" ]; then
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"

for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -qE '^URIs:.*debian' "$f" || continue
    sed 's/^Types:.*/Types: deb-src/' "$f" >"$work/parts/$(basename "$f")"
done
if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb [^#]*debian' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
        >"$work/parts/sources.list" || true
fi
if [ -z "$(ls -A "$work/parts")" ]; then
    echo "lean-deps: no Debian apt source on this machine to fetch source packages from" >&2
    exit 1
fi
apt_opts=(-qq -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/parts"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
    -o "APT::Sandbox::User=$(id -un)")
echo "lean-deps: fetching the source packages of ${packages[*]}"
apt-get "${apt_opts[@]}" update
(cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only "${packages[@]}" >/dev/null)
for p in "${packages[@]}"; do
    dpkg-source -x "$work/src/${p}_"*.dsc "$work/$p" >/dev/null 2>&1
done

# Position-independent objects: trimtab is a PIE (ASLR), and these link into it.
cflags="-O2 -fPIC -g0"

# curl looks for Debian's CA store, as Debian's own libcurl does, whatever the build machine
# has (the image installs ca-certificates).
echo "lean-deps: building libcurl"
cmake -S "$work/curl" -B "$work/curl-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
    -DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DENABLE_MANUAL=OFF \
    -DHTTP_ONLY=ON -DCURL_USE_OPENSSL=ON -DCURL_ZLIB=ON -DCURL_DISABLE_LDAP=ON \
    -DCURL_DISABLE_LDAPS=ON -DCURL_USE_LIBSSH2=OFF -DCURL_USE_GSSAPI=OFF -DUSE_LIBIDN2=OFF \
    -DCURL_USE_LIBPSL=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DUSE_NGHTTP2=OFF \
    -DCURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -DCURL_CA_PATH=/etc/ssl/certs \
    >"$work/curl.log" 2>&1 || { tail -30 "$work/curl.log" >&2; exit 1; }
cmake --build "$work/curl-build" -j "$jobs" >>"$work/curl.log" 2>&1 || { tail -30 "$work/curl.log" >&2; exit 1; }
cmake --install "$work/curl-build" >>"$work/curl.log" 2>&1

echo "lean-deps: building libmicrohttpd"
(cd "$work/libmicrohttpd" &&
    CFLAGS="$cflags" ./configure --prefix="$prefix" --libdir="$prefix/lib" \
        --disable-shared --enable-static --with-pic --disable-https --disable-curl \
        --disable-doc --disable-examples --disable-postprocessor --disable-dauth \
        --disable-httpupgrade >"$work/mhd.log" 2>&1 &&
    make -j "$jobs" -C src/microhttpd >>"$work/mhd.log" 2>&1 &&
    make -C src/microhttpd install >>"$work/mhd.log" 2>&1 &&
    make -C src/include install >>"$work/mhd.log" 2>&1 &&
    make install-pkgconfigDATA >>"$work/mhd.log" 2>&1) || { tail -30 "$work/mhd.log" >&2; exit 1; }

echo "lean-deps: building libxml2"
cmake -S "$work/libxml2" -B "$work/libxml2-build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
    -DBUILD_SHARED_LIBS=OFF -DLIBXML2_WITH_ICU=OFF -DLIBXML2_WITH_LZMA=OFF \
    -DLIBXML2_WITH_ZLIB=OFF -DLIBXML2_WITH_PYTHON=OFF -DLIBXML2_WITH_HTTP=OFF \
    -DLIBXML2_WITH_FTP=OFF -DLIBXML2_WITH_MODULES=OFF -DLIBXML2_WITH_PROGRAMS=OFF \
    -DLIBXML2_WITH_TESTS=OFF -DLIBXML2_WITH_CATALOG=OFF -DLIBXML2_WITH_XPATH=OFF \
    -DLIBXML2_WITH_XPTR=OFF -DLIBXML2_WITH_XINCLUDE=OFF -DLIBXML2_WITH_SCHEMAS=OFF \
    -DLIBXML2_WITH_SCHEMATRON=OFF -DLIBXML2_WITH_C14N=OFF \
    >"$work/libxml2.log" 2>&1 || { tail -30 "$work/libxml2.log" >&2; exit 1; }
cmake --build "$work/libxml2-build" -j "$jobs" >>"$work/libxml2.log" 2>&1 || { tail -30 "$work/libxml2.log" >&2; exit 1; }
cmake --install "$work/libxml2-build" >>"$work/libxml2.log" 2>&1

# What was built, for the record (and the Dockerfile's image label).
for p in "${packages[@]}"; do
    sed -n 's/^Version: //p' "$work/src/${p}_"*.dsc | head -1 | sed "s/^/$p /"
done >"$prefix/versions"
echo "$want" >"$prefix/.lean-deps"
echo "lean-deps: done: $(tr '\n' ' ' <"$prefix/versions")"
