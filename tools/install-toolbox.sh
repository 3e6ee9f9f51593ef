#!/bin/sh
# meson install script for -Dtoolbox=true: build the default toolbox image
# with image/build from image/packages (needs Debian's archive and the host
# packages of image/deps: image/install-deps) and install it, root-owned
# 0644, at the default image path, with its manifest beside it. The .deb
# cache is kept, so reinstalling is quick and downloads only what changed.
# Args: SRCDIR DEFAULT_IMAGE FORMAT CACHE
set -eu
src=$1 image=$2 format=$3 cache=$4
dest="${DESTDIR:-}$image"
[ -n "$cache" ] || cache=/var/cache/crashcart-image
if [ "$(id -u)" != 0 ] && [ "$cache" = /var/cache/crashcart-image ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/crashcart
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/crashcart-toolbox.XXXXXX")
trap 'rm -rf "$out"' EXIT
echo "crashcart: building the toolbox image ($format) from $src/image/packages (cache $cache)"
mkdir -p "$cache"
nice -n 10 "$src/image/build" --format "$format" --packages "$src/image/packages" \
	--out "$out" --cache "$cache" | tail -n 2
mkdir -p "$(dirname "$dest")"
install -m 0644 "$out/crashcart.img" "$dest.new"
install -m 0644 "$out/crashcart.manifest" "${dest%.img}.manifest"
[ "$(id -u)" = 0 ] && chown root:root "$dest.new" "${dest%.img}.manifest"
mv -f "$dest.new" "$dest"
echo "crashcart: installed the toolbox image at $dest"
