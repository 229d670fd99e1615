#!/usr/bin/env bash
# Man pages from the binary's own --help, so they cannot drift from it: moxing.1.gz and one
# moxing-SUB.1.gz per subcommand listed under "Subcommands:" in `moxing --help`.
#   make_man.sh MOXING_BINARY VERSION OUT_DIR      (HELP2MAN=path overrides `help2man`)
set -euo pipefail
bin=$(realpath "$1")
version=$2
out=$3
help2man=${HELP2MAN:-help2man}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# help2man runs `PROGRAM --help`; a wrapper per page gives the page its name (moxing-serve)
# while usage lines still read `moxing serve` (argv[0] is what CLI11 prints).
wrapper() {  # NAME [SUBCOMMAND]
  printf '#!/bin/bash\nexec -a moxing %q %s "$@"\n' "$bin" "${2:-}" > "$work/$1"
  chmod +x "$work/$1"
}

"$bin" --help > "$work/help" || { echo "make_man.sh: $bin --help failed" >&2; exit 1; }
# "  serve      Serve the model over ..." -> "serve<TAB>Serve the model over ..."
subcommands=$(awk '/^Subcommands:/ { on = 1; next }
  on && /^  [a-z]/ { name = $1; sub(/^ +[^ ]+ +/, ""); print name "\t" $0 }' "$work/help")
[ -n "$subcommands" ] || { echo "make_man.sh: no subcommands in $bin --help" >&2; exit 1; }

{
  echo "[SEE ALSO]"
  sep=""
  while IFS=$'\t' read -r name _; do
    printf '%s\\fBmoxing-%s\\fR(1)' "$sep" "$name"
    sep=$',\n'
  done <<< "$subcommands"
  printf '\n.PP\nThe service: \\fI/usr/share/doc/moxing/install.md\\fR.\n'
} > "$work/see-also-main"
printf '[SEE ALSO]\n\\fBmoxing\\fR(1)\n' > "$work/see-also-sub"

wrapper moxing
summary=$(sed -n '1s/^moxing: //p' "$work/help")
"$help2man" --no-info --name "$summary" --include "$work/see-also-main" \
  --output "$work/moxing.1" "$work/moxing"

while IFS=$'\t' read -r name summary; do
  wrapper "moxing-$name" "$name"
  # Subcommands have no --version of their own.
  "$help2man" --no-info --version-string "$version" --name "${summary,}" \
    --include "$work/see-also-sub" --output "$work/moxing-$name.1" "$work/moxing-$name"
done <<< "$subcommands"

mkdir -p "$out"
rm -f "$out"/*.1.gz  # a subcommand that went takes its page with it
for page in "$work"/*.1; do
  gzip -9n < "$page" > "$out/$(basename "$page").gz"
done
