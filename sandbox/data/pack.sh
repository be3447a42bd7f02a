#!/usr/bin/env bash
# Regenerates sandbox/data/books.tar.zst from an unpacked Books to Scrape snapshot.
#
#   sandbox/data/pack.sh [SNAPSHOT_DIR]     (default: /work/shared/fixtures/books.toscrape.com)
#
# The archive is reproducible: sorted names, fixed owner and mtime, so re-packing the same files gives the same
# bytes. zstd's long-distance matching (window 2^27 = 128 MiB, which is also the decoder's default limit, so the
# Rust side needs no extra setting) finds the boilerplate shared by the 1,050 pages across the whole tar.
set -euo pipefail

src="${1:-/work/shared/fixtures/books.toscrape.com}"
out="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/books.tar.zst"

for f in SOURCES.md URL_MAP.tsv index.html catalogue/page-2.html; do
    [[ -e "$src/$f" ]] || { echo "pack.sh: $src/$f is missing; is $src a Books to Scrape snapshot?" >&2; exit 1; }
done
command -v zstd >/dev/null || { echo "pack.sh: zstd is not installed (apt-get install -y zstd)" >&2; exit 1; }

tar -C "$src" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu \
    -cf - SOURCES.md URL_MAP.tsv index.html catalogue \
    | zstd -19 --long=27 -T0 -q -f -o "$out"
echo "pack.sh: wrote $out ($(wc -c <"$out") bytes, $(find "$src/catalogue" "$src/index.html" -name '*.html' | wc -l) html pages)"
