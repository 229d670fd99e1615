#!/usr/bin/env bash
# The Debian package and the install rules, checked without root or a running systemd:
# builds the .deb with cpack, unpacks it into a scratch root, then checks its files and
# their modes, the man pages, the control fields, the systemd unit (systemd-analyze verify,
# and the exposure score of `security`), and what `cmake --install` puts where.
#   check_package.sh BUILD_DIR      (ctest: packaging.deb)
set -euo pipefail
build=$(realpath "$1")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
need() { command -v "$1" > /dev/null || { echo "FAIL: $1 missing ($2)" >&2; exit 1; }; }
need dpkg-deb "dpkg"
need cpack "cmake"
need systemd-analyze "scripts/setup.sh installs systemd"

# --- The package ------------------------------------------------------------------------
# The build made the man pages (target moxing_man, part of `all`); a test does not build.
if [ ! -f "$build/man/moxing.1.gz" ] || [ "$build/man/moxing.1.gz" -ot "$build/moxing" ]; then
  echo "FAIL: no man pages newer than the binary in $build/man: build all (needs help2man)" >&2
  exit 1
fi
(cd "$build" && cpack -G DEB -B "$scratch/out") > "$scratch/cpack.log" 2>&1 ||
  { cat "$scratch/cpack.log" >&2; exit 1; }
debs=("$scratch"/out/*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
  ls -R "$scratch/out" >&2
  echo "FAIL: not one .deb" >&2
  exit 1
fi
deb=${debs[0]}
echo "package: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

root=$scratch/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$scratch/control"
dpkg-deb -c "$deb" > "$scratch/contents"

# Every entry root-owned; each expected one there with its mode.
awk '$2 != "root/root" { print "FAIL: not root/root: " $0; bad = 1 } END { exit bad }' "$scratch/contents" >&2 ||
  failures=$((failures + 1))
expect() {  # MODE PATH
  grep -qE "^$1 root/root +[0-9]+ [-0-9]+ [:0-9]+ \./${2#/}( |$)" "$scratch/contents" ||
    fail "$2 with mode $1 not in the package: $(grep -F "./${2#/}" "$scratch/contents" || echo absent)"
}
expect -rwxr-xr-x /usr/bin/moxing
expect -rw-r--r-- /usr/share/man/man1/moxing.1.gz
expect -rw-r--r-- /usr/share/man/man1/moxing-serve.1.gz
expect -rw-r--r-- /lib/systemd/system/moxing.service
expect -rw-r--r-- /etc/moxing/serve.toml
expect drwxr-xr-x /var/lib/moxing/models/
expect -rw-r--r-- /usr/share/doc/moxing/README.md
expect -rw-r--r-- /usr/share/doc/moxing/install.md
# Nothing else at the top (a build path or /usr/local slipping in).
stray=$(awk '{ print $6 }' "$scratch/contents" | grep -vE '^\./((usr|usr/bin|usr/share|etc|etc/moxing|lib|lib/systemd|var|var/lib)/?|(usr/bin/moxing|usr/share/(man|doc)/.*|lib/systemd/system/.*|etc/moxing/serve\.toml|var/lib/moxing/.*))$' || true)
[ "$stray" = "./" ] || [ -z "$stray" ] || fail "unexpected entries: $(echo "$stray" | grep -v '^\./$' | tr '\n' ' ')"

# The packaged binary runs, and is the version the package says.
binary_version=$("$root/usr/bin/moxing" --version | awk '{ print $2 }')
echo "moxing --version: $binary_version"

# --- Control ----------------------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = moxing ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$binary_version" ] || fail "Version $(field Version) but the binary says $binary_version"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
for f in Maintainer Description Installed-Size Section; do
  [ -n "$(field "$f")" ] || fail "no $f field"
done
depends=$(field Depends)
echo "Depends: $depends"
[[ "$depends" == *adduser* ]] || fail "Depends lacks adduser (the postinst creates the user)"
# dpkg-shlibdeps (dpkg-dev) fills in the libraries; without it the package would install
# on a machine missing them.
[[ "$depends" == *libc6* ]] || fail "Depends lacks libc6: dpkg-shlibdeps did not run (install dpkg-dev)"
grep -qx /etc/moxing/serve.toml "$scratch/control/conffiles" || fail "serve.toml is not a conffile"
for s in postinst prerm postrm; do
  [ "$(stat -c %a "$scratch/control/$s")" = 755 ] || fail "$s mode $(stat -c %a "$scratch/control/$s")"
  sh -n "$scratch/control/$s" || fail "$s: syntax"
done
if command -v shellcheck > /dev/null; then
  shellcheck -s sh "$scratch/control/postinst" "$scratch/control/prerm" "$scratch/control/postrm" ||
    fail "shellcheck on the maintainer scripts"
fi

# --- Man pages --------------------------------------------------------------------------
# One page per subcommand the binary lists, each rendering with its name and options.
render() {  # PAGE.gz -> text
  if command -v man > /dev/null; then MANWIDTH=100 man -l "$1" 2> /dev/null
  elif command -v groff > /dev/null; then zcat "$1" | groff -man -Tutf8 2> /dev/null
  else zcat "$1" | sed -e 's/\\-/-/g' -e 's/\\f[A-Z]//g'  # no renderer: the source, unescaped
  fi
}
subcommands=$("$root/usr/bin/moxing" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
[ -n "$subcommands" ] || fail "no subcommands in moxing --help"
for page in moxing $(sed 's/^/moxing-/' <<< "$subcommands"); do
  file=$root/usr/share/man/man1/$page.1.gz
  [ -f "$file" ] || { fail "no man page $page(1)"; continue; }
  text=$(render "$file")
  if ! grep -q "NAME" <<< "$text" || ! grep -q "OPTIONS" <<< "$text"; then
    fail "$page(1) has no NAME or OPTIONS section"
  fi
  grep -qi "^ *$page " <<< "$text" || grep -qi "^\.TH ${page^^}" <<< "$text" || fail "$page(1) does not name $page"
done
render "$root/usr/share/man/man1/moxing-serve.1.gz" | grep -q -- "--port" || fail "moxing-serve(1) lacks --port"

# --- The unit ---------------------------------------------------------------------------
# verify needs ExecStart's binary to exist: check a copy pointing at the unpacked one
# (--root would also need the host's targets inside the scratch root). MANPATH lets it find
# the man page Documentation= names among the unpacked ones.
mkdir "$scratch/units"
sed "s#^ExecStart=/usr/bin/moxing #ExecStart=$root/usr/bin/moxing #" "$root/lib/systemd/system/moxing.service" \
  > "$scratch/units/moxing.service"
grep -q "^ExecStart=$root/usr/bin/moxing serve --config /etc/moxing/serve.toml$" "$scratch/units/moxing.service" ||
  fail "ExecStart is not /usr/bin/moxing serve --config /etc/moxing/serve.toml"
# Documentation='s pages are among the package's; verify checks them too when man is there.
for doc in $(sed -n 's/^Documentation=//p' "$scratch/units/moxing.service"); do
  case $doc in
    man:*) page=${doc#man:}; page=${page%%(*}
           [ -f "$root/usr/share/man/man1/$page.1.gz" ] || fail "Documentation=$doc is not in the package" ;;
    file:*) [ -f "$root${doc#file:}" ] || fail "Documentation=$doc is not in the package" ;;
  esac
done
man_check=()
command -v man > /dev/null || man_check=(--man=no)  # a container without man-db
verify_rc=0
SYSTEMD_LOG_LEVEL=info MANPATH=$root/usr/share/man \
  systemd-analyze verify "${man_check[@]}" "$scratch/units/moxing.service" > "$scratch/verify.log" 2>&1 || verify_rc=$?
if [ -s "$scratch/verify.log" ]; then
  echo "systemd-analyze verify said:"
  sed 's/^/  /' "$scratch/verify.log"
fi
[ "$verify_rc" -eq 0 ] || fail "systemd-analyze verify exited $verify_rc"
# Other units' complaints come from the host's systemd; any about ours is a failure.
! grep -qi "moxing" "$scratch/verify.log" || fail "systemd-analyze verify warns about the unit"

systemd-analyze security --offline=yes "$scratch/units/moxing.service" > "$scratch/security.log" 2>&1 ||
  fail "systemd-analyze security --offline=yes failed: $(tail -3 "$scratch/security.log")"
grep -a "Overall exposure level" "$scratch/security.log" || true

# --- cmake --install, as `make install PREFIX=... DESTDIR=...` runs it ----------------------
# The default components only (binary, man pages, docs); the service files, with their
# absolute paths, are the package's alone. DESTDIR keeps a regression from writing to /etc.
DESTDIR=$scratch/destdir cmake --install "$build" --prefix /usr/local > "$scratch/install.log" 2>&1 ||
  { cat "$scratch/install.log" >&2; fail "cmake --install"; }
prefix=$scratch/destdir/usr/local
[ -x "$prefix/bin/moxing" ] || fail "no bin/moxing under the prefix"
[ -f "$prefix/share/man/man1/moxing.1.gz" ] || fail "no share/man/man1/moxing.1.gz under the prefix"
[ -f "$prefix/share/doc/moxing/install.md" ] || fail "no share/doc/moxing/install.md under the prefix"
outside=$(cd "$scratch/destdir" && find . -mindepth 1 -not -path './usr' -not -path './usr/local' -not -path './usr/local/*')
[ -z "$outside" ] || fail "cmake --install wrote outside the prefix: $outside"
"$prefix/bin/moxing" --version > /dev/null || fail "the installed binary does not run"

if command -v lintian > /dev/null; then
  lintian --no-tag-display-limit "$deb" || true  # advice, not a gate: the package is not Debian's own
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "package checks passed"
