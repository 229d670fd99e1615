#!/usr/bin/env bash
# Installs the Debian 12 packages moxing needs to build and test, only those missing.
#   setup.sh         everything `make test` needs
#   setup.sh build   only what building the moxing binary needs (`make run`)
set -euo pipefail
mode=${1:-test}

packages=(
  g++ cmake ninja-build make pkg-config  # toolchain
  libfmt-dev                            # formatting
  libcli11-dev                          # command-line parsing
  nlohmann-json3-dev                    # JSON (golden manifests, bench --json, chat template contexts)
  libpcre2-dev                          # Unicode-aware pre-tokenizer regexes (BPE vocabularies)
  libcpp-httplib-dev                    # HTTP/1.1 server of `moxing serve` (and the test client)
  libcurl4-openssl-dev libssl-dev       # `moxing pull`: HTTPS downloads from the hub, fast SHA-256
  libgtest-dev                          # unit tests (the release build's configure looks for it)
  libbenchmark-dev                      # kernel micro-benchmarks
)
test_packages=(
  clang libclang-rt-14-dev              # the sanitizer build: tests under ASan + UBSan, libFuzzer targets
  python3-jinja2                        # reference renderer for the chat-template differential test
  python3-jsonschema                    # reference validator for JSON-Schema-constrained output tests
  chromium                              # headless browser for the chat page test
  help2man                              # the man page of the Debian package, made from --help
  dpkg-dev                              # dpkg-shlibdeps: the Debian package's library dependencies
  systemd                               # systemd-analyze verify checks the package's service unit
  prometheus                            # promtool check metrics lints /metrics
)
if [ "$mode" != build ]; then
  packages+=("${test_packages[@]}")
  # Node.js and npm run the client tests (official openai package, playwright-core); the
  # machine's own Node.js is used when there is one.
  command -v node > /dev/null && command -v npm > /dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "$mode" = build ] && exit 0

# The client tests' npm packages, exactly as package-lock.json pins them.
js="$(dirname "$0")/../tests/js"
if [ ! -d "$js/node_modules" ] || [ "$js/package-lock.json" -nt "$js/node_modules" ]; then
  echo "setup: npm ci in tests/js" >&2
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
fi
