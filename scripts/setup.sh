#!/usr/bin/env bash
# Installs the Debian 12 packages moxing needs to build and test, only those missing.
set -euo pipefail

packages=(
  g++ cmake ninja-build make pkg-config  # toolchain
  clang libclang-rt-14-dev              # libFuzzer targets
  libfmt-dev                            # formatting
  libcli11-dev                          # command-line parsing
  nlohmann-json3-dev                    # JSON (golden manifests, bench --json, chat template contexts)
  libpcre2-dev                          # Unicode-aware pre-tokenizer regexes (BPE vocabularies)
  libcpp-httplib-dev                    # HTTP/1.1 server of `moxing serve` (and the test client)
  python3-jinja2                        # reference renderer for the chat-template differential test
  python3-jsonschema                    # reference validator for JSON-Schema-constrained output tests
  libgtest-dev                          # unit tests
  libbenchmark-dev                      # kernel micro-benchmarks
  chromium                              # headless browser for the chat page test
)
# Node.js and npm run the client tests (official openai package, playwright-core); the
# machine's own Node.js is used when there is one.
command -v node > /dev/null && command -v npm > /dev/null || packages+=(nodejs npm)

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

# The client tests' npm packages, exactly as package-lock.json pins them.
js="$(dirname "$0")/../tests/js"
if [ ! -d "$js/node_modules" ] || [ "$js/package-lock.json" -nt "$js/node_modules" ]; then
  echo "setup: npm ci in tests/js" >&2
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
fi
