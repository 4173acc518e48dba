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

# The real config and mapping files (tests/fixtures/openshift-release/README.md says where from).
for real in "$repo"/tests/fixtures/openshift-release/_config.yaml "$repo"/tests/fixtures/openshift-release/mapping_*; do
    install -m 644 "$real" "$corpus/seed-openshift-release-$(basename "$real")"
    count=$((count + 1))
done

echo "seeded $count files into ${corpus#"$repo/"}"
