# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Where the kernel source comes from: a given git tree, directory or
# tarball, the cached or downloaded v6.8 tarball, or Debian's
# linux-source as a loud fallback. Each becomes a git tree under out/src/
# whose one base commit is tagged cgpipe-base. Sourced by scripts/cgpipe
# after lib.sh and series.sh (git_pinned).

# commit_base TMP DIR LABEL: make the source in TMP a git tree whose one
# commit is tagged cgpipe-base, and move it to DIR. (add -f: Debian's source
# tarball ignores its whole top level in .gitignore.)
commit_base() {
	git_pinned -C "$1" init -q -b cgpipe
	git -C "$1" config gc.auto 0
	git_pinned -C "$1" add -A -f
	git_pinned -C "$1" commit -q -m "base: $3"
	git_pinned -C "$1" tag cgpipe-base
	mv "$1" "$2"
}

# tree_from_tarball TARBALL DIR: unpack and commit it as the base.
tree_from_tarball() {
	rm -rf "$2.tmp"
	mkdir -p "$2.tmp"
	say "unpacking ${1##*/} (once)"
	tar -xf "$1" -C "$2.tmp" --strip-components=1 || die "cannot unpack $1"
	commit_base "$2.tmp" "$2" "${1##*/}"
}

# tree_from_git REPO REF DIR: a clone sharing REPO's objects; REPO untouched.
tree_from_git() {
	if [ ! -d "$3/.git" ]; then
		git_pinned clone -q --shared --no-checkout "$1" "$3" ||
			die "cannot clone $1"
	fi
	git_pinned -C "$3" fetch -q "$1" "$2" 2>/dev/null || true
	git_pinned -C "$3" tag -f cgpipe-base "$2" >/dev/null
}

# dir_fingerprint DIR: a digest of DIR's file names, sizes and times (not
# .git), so that a tree changed in place is copied again, not used stale.
dir_fingerprint() {
	(cd "$1" && find . -name .git -prune -o -type f -printf '%P %s %T@\n') |
		LC_ALL=C sort | sha256sum | cut -c1-16
}

# tree_from_dir DIR DEST: a plain source directory, copied (once for each
# state of DIR: DEST is named by dir_fingerprint).
tree_from_dir() {
	rm -rf "$2.tmp"
	say "copying $1 (once for what it holds now)"
	rsync -a --exclude=.git "$1/" "$2.tmp/"
	commit_base "$2.tmp" "$2" "$1"
}

# fetch_v68 OFFLINE: the pinned linux-6.8 tarball in the cache, downloading
# it unless OFFLINE is 1. Prints its path, or nothing.
fetch_v68() {
	local t=$CG_CACHE/$V68_TARBALL
	mkdir -p "$CG_CACHE"
	if [ ! -f "$t" ] && [ "$1" != 1 ] && have curl; then
		say "downloading $V68_URL"
		if curl -fsSL --connect-timeout 10 --max-time 900 -o "$t.part" "$V68_URL"; then
			mv "$t.part" "$t"
		else
			rm -f "$t.part"
			warn "download failed: offline?"
		fi
	fi
	[ -f "$t" ] || return 0
	if ! printf '%s  %s\n' "$V68_SHA256" "$t" | sha256sum -c --quiet - >&2; then
		warn "$t does not match the pinned sha256; ignoring it"
		return 0
	fi
	printf '%s\n' "$t"
}

# debian_source: Debian's linux-source tarball, installed if need be.
debian_source() {
	local t
	t=$(find /usr/src -maxdepth 1 -name 'linux-source-*.tar.xz' 2>/dev/null | sort -V | tail -n 1)
	if [ -z "$t" ]; then
		need_pkgs linux-source-6.12
		t=$(find /usr/src -maxdepth 1 -name 'linux-source-*.tar.xz' | sort -V | tail -n 1)
	fi
	[ -n "$t" ] || die "no kernel source: give --kernel-src, or install linux-source-6.12"
	printf '%s\n' "$t"
}

# source_resolve KSRC KREF OFFLINE: pick the base tree (see README): KSRC
# (a git tree, at KREF or v6.8 or HEAD; a directory; a tarball), else the
# v6.8 tarball (downloaded unless OFFLINE is 1), else Debian's source.
# Prints the path of the tree made under out/src/.
source_resolve() {
	local k=$1 ref=$2 offline=$3 t src
	mkdir -p "$CG_OUT/src"
	if [ -n "$k" ]; then
		[ -e "$k" ] || die "--kernel-src $k does not exist"
		k=$(readlink -f "$k")
		if [ -f "$k" ]; then
			src=$CG_OUT/src/tar-$(hash_of "$k")
			[ -d "$src/.git" ] || tree_from_tarball "$k" "$src"
			say "kernel source: tarball $k"
		elif git -C "$k" rev-parse --git-dir >/dev/null 2>&1; then
			if [ -z "$ref" ]; then
				ref=HEAD
				git -C "$k" rev-parse -q --verify 'v6.8^{commit}' >/dev/null && ref=v6.8
			fi
			ref=$(git -C "$k" rev-parse --verify "$ref^{commit}") ||
				die "no commit '$ref' in $k"
			src=$CG_OUT/src/git-$(printf '%s' "$ref" | cut -c1-12)
			tree_from_git "$k" "$ref" "$src"
			say "kernel source: git tree $k at $ref"
		else
			src=$CG_OUT/src/dir-$(hash_of "$k" "$(dir_fingerprint "$k")")
			[ -d "$src/.git" ] || tree_from_dir "$k" "$src"
			say "kernel source: directory $k"
		fi
		printf '%s\n' "$src"
		return 0
	fi
	t=$(fetch_v68 "$offline")
	if [ -n "$t" ]; then
		src=$CG_OUT/src/v6.8
		[ -d "$src/.git" ] || tree_from_tarball "$t" "$src"
		say "kernel source: $t (sha256 verified)"
		printf '%s\n' "$src"
		return 0
	fi
	t=$(debian_source)
	src=$CG_OUT/src/$(basename "$t" .tar.xz)
	[ -d "$src/.git" ] || tree_from_tarball "$t" "$src"
	banner "No v6.8 source (no --kernel-src, no cached $V68_TARBALL, offline)." \
		"FALLING BACK to Debian's $t." \
		"The series is based on v6.8; this run tests it on another kernel."
	printf '%s\n' "$src"
}

# source_prepare KSRC KREF OFFLINE ALLOW_FUZZ: resolve the base, apply the
# series (series_apply); prints the tree's path. The tree is left at the
# whole series (a walk through its prefixes may have been interrupted).
source_prepare() {
	local src method version
	src=$(source_resolve "$1" "$2" "$3")
	series_apply "$src" "$4"
	git_pinned -C "$src" checkout -qf cgpipe
	method=$(apply_method "$src")
	version=$(kernel_version "$src")
	say "base $version, series applied with: $method"
	case "$method" in
	"git am") ;;
	"git am of ports/"*)
		banner "Base $version: the series of its port (${method#git am of })," \
			"the v6.8 series with that base's adaptations, applied with git am." ;;
	*) banner "The series did not apply cleanly on $version: needed $method." ;;
	esac
	printf '%s\n' "$src"
}
