#!/usr/bin/env bash
# (Re)builds the seed corpus for the `parse_validate` fuzz target from the test fixtures.
# The corpus directory is git-ignored; run this before the first `cargo fuzz run`.
# Files the fuzzer has added to the corpus are kept; the seeds are (re)copied over them.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus="$repo/fuzz/corpus/parse_validate"
mkdir -p "$corpus"

count=0
for fixture in "$repo"/tests/fixtures/validate/ok/*.yaml "$repo"/tests/fixtures/validate/err/*.yaml; do
    [ -f "$fixture" ] || continue
    kind=$(basename "$(dirname "$fixture")")
    install -m 644 "$fixture" "$corpus/seed-$kind-$(basename "$fixture")"
    count=$((count + 1))
done

# The real config and mapping files, checked out next to the repository; optional.
shared="$repo/../shared/fixtures/openshift-release"
if [ -f "$shared/_config.yaml" ]; then
    for real in "$shared/_config.yaml" "$shared"/mapping_*; do
        install -m 644 "$real" "$corpus/seed-openshift-release-$(basename "$real")"
        count=$((count + 1))
    done
else
    echo "note: $shared not found; seeding from the test fixtures only" >&2
fi

echo "seeded $count files into ${corpus#"$repo/"}"
