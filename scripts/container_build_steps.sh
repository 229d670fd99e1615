#!/usr/bin/env bash
# The steps of the Containerfile, one subcommand each, so that they can run (and be tested)
# outside a container too:
#   container_build_steps.sh deps                 build dependencies (scripts/setup.sh build)
#   container_build_steps.sh configure SRC        the first half of build: cmake's configure
#   container_build_steps.sh build SRC            the moxing binary alone: release preset (portable,
#                                                 kernels picked at run time), no tests or benchmarks
#   container_build_steps.sh stage BIN DEST       DEST/usr/local/bin/moxing (stripped) and
#                                                 DEST/runtime-packages.txt: the Debian packages of the
#                                                 shared libraries BIN links directly (their own
#                                                 dependencies come with them through apt)
#   container_build_steps.sh runtime PACKAGES     on the slim image: the packages listed in the file
#                                                 PACKAGES, curl for the HEALTHCHECK, ca-certificates for
#                                                 hub pulls, a non-root user, /models and /cache
#   container_build_steps.sh check                /usr/local/bin/moxing finds every library and runs
# `make test` runs `configure` on a copy of what the Containerfile copies into the builder, and
# `stage` on the build tree's binary (tests/js/deploy_manifests.test.mjs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
uid=10001  # the image's user; deploy/kubernetes runs the pod as the same id

# Debian package owning a library path; merged /usr means dpkg may know it by the other prefix.
package_of() {
  local path=$1 candidates=("$1" "$(readlink -f "$1")")
  case $path in
    /usr/*) candidates+=("${path#/usr}") ;;
    *) candidates+=("/usr$path") ;;
  esac
  local c owner
  for c in "${candidates[@]}"; do
    owner=$(dpkg-query -S "$c" 2>/dev/null | head -n1) || continue
    [ -n "$owner" ] && { echo "${owner%%:*}"; return 0; }
  done
  return 1
}

# The packages of the libraries `bin` names in its DT_NEEDED entries, sorted, one a line.
runtime_packages() {
  local bin=$1 lib path pkg
  local -A paths=()
  # ldd resolves each name to the file the loader would use.
  while read -r lib _ path _; do
    [ "$path" = "not" ] && { echo "container_build_steps: $bin: $lib not found" >&2; return 1; }
    paths[$lib]=$path
  done < <(ldd "$bin" | awk '$2 == "=>" {print $1, $2, $3}')
  for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}'); do
    path=${paths[$lib]:-}
    [ -n "$path" ] || { echo "container_build_steps: $bin: ldd does not resolve $lib" >&2; return 1; }
    pkg=$(package_of "$path") || { echo "container_build_steps: no Debian package owns $path" >&2; return 1; }
    echo "$pkg"
  done | sort -u
}

cmd=${1:?usage: container_build_steps.sh deps|configure SRC|build SRC|stage BIN DEST|runtime PACKAGES|check [BIN]}
shift
case $cmd in
  deps)
    bash "$here/setup.sh" build
    ;;
  configure | build)
    src=${1:?$cmd SRC}
    cd "$src"
    cmake --preset release -DMOXING_TESTS=OFF -DMOXING_BENCH=OFF
    [ "$cmd" = configure ] || cmake --build --preset release -j "$(nproc)" --target moxing
    ;;
  stage)
    bin=${1:?stage BIN DEST} dest=${2:?stage BIN DEST}
    install -D -m 0755 "$bin" "$dest/usr/local/bin/moxing"
    strip --strip-unneeded "$dest/usr/local/bin/moxing"
    runtime_packages "$bin" > "$dest/runtime-packages.txt"
    if grep -E -- '-dev$' "$dest/runtime-packages.txt" >&2; then
      echo "container_build_steps: the runtime would need development packages (a static library linked as shared?)" >&2
      exit 1
    fi
    ;;
  runtime)
    packages=${1:?runtime PACKAGES}
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2046  # one package a word
    apt-get install -y -qq --no-install-recommends $(cat "$packages") curl ca-certificates
    rm -rf /var/lib/apt/lists/*
    groupadd --system --gid "$uid" moxing
    useradd --system --uid "$uid" --gid "$uid" --home-dir /cache --no-create-home --shell /usr/sbin/nologin moxing
    install -d -o "$uid" -g "$uid" /models /cache /cache/huggingface /cache/moxing
    ;;
  check)
    bin=${1:-/usr/local/bin/moxing}
    if ldd "$bin" | grep 'not found' >&2; then exit 1; fi
    "$bin" --version
    ;;
  *)
    echo "container_build_steps: unknown step $cmd" >&2
    exit 2
    ;;
esac
