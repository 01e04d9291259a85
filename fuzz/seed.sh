#!/usr/bin/env bash
# Seeds the corpus of the `pipeline` target with every row of rules/table.txt and every
# tests/errors/*.txt case, in the target's layout (first line: the variable; then the input).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus="$here/corpus/pipeline"
mkdir -p "$corpus"
n=0
while IFS='|' read -r name wrt input _expected; do
    case "$name" in '#'* | '') continue ;; esac
    name=$(echo "$name" | xargs)
    wrt=$(echo "$wrt" | xargs)
    input=$(echo "$input" | sed 's/^ *//; s/ *$//')
    printf '%s\n%s' "$wrt" "$input" > "$corpus/table-$name"
    n=$((n + 1))
done < "$root/rules/table.txt"
for f in "$root"/tests/errors/*.txt; do
    cp "$f" "$corpus/errors-$(basename "$f" .txt)"
    n=$((n + 1))
done
echo "seeded $n inputs into $corpus"
