# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The series and a kernel tree: apply the series as commits, make a tree to
# hack on, export patches/ back. Sourced by scripts/cgpipe after lib.sh.
#
# Every tree made here is a git repository whose base commit is tagged
# cgpipe-base and whose branch "cgpipe" carries the series; the cover letter
# text lives in that branch's description (what format-patch reads).

# Pinned git settings, so that the export gives the same bytes everywhere;
# and no automatic gc: a tree made from a tarball starts with tens of
# thousands of loose objects, which a gc started by git am would pack in
# the background, under a clone reading them.
git_pinned() {
	GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -c gc.auto=0 \
		-c core.abbrev=12 -c diff.algorithm=myers -c diff.renames=true \
		-c user.name="$GIT_COMMITTER_NAME" -c user.email="$GIT_COMMITTER_EMAIL" \
		-c advice.detachedHead=false "$@"
}

# kernel_version DIR: "6.8.0" from the tree's Makefile.
kernel_version() { makefile_version <"$1/Makefile"; }

# base_version DIR: the same of the tree's base commit (cgpipe-base),
# whatever is checked out.
base_version() { git -C "$1" show cgpipe-base:Makefile | makefile_version; }

makefile_version() {
	awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3}
	     END{print v "." p "." s}'
}

# am_patches DIR OPTIONS PATCH...: git am the PATCHes with OPTIONS (one
# word each, or none); on failure abort and return 1, leaving DIR at
# cgpipe-base.
am_patches() {
	local dir=$1 opts=$2
	shift 2
	# shellcheck disable=SC2086 # one word per option
	git_pinned -C "$dir" am -q $opts "$@" >/dev/null 2>&1 && return 0
	git_pinned -C "$dir" am --abort >/dev/null 2>&1 || true
	git_pinned -C "$dir" reset -q --hard cgpipe-base
	return 1
}

# port_of DIR: the port of the series for the base of the tree DIR: the
# newest ports/X.Y made for X.Y no later than that base, if any (a port
# serves the releases after its own until one of them needs another).
port_of() {
	local v p best=
	v=$(base_version "$1")
	for p in "$CG_TOP"/ports/*/series; do
		[ -f "$p" ] || continue
		p=${p%/series}
		# X.Y <= MAJOR.MINOR of the base, by version order
		[ "$(printf '%s\n%s\n' "${p##*/}" "${v%.*}" | sort -V | sed -n 1p)" = "${p##*/}" ] ||
			continue
		best=$p
	done
	printf '%s' "${best:+$best$'\n'}"
}

# port_lines PORT: the lines of PORT/series, without comments.
port_lines() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1/series"; }

# diff_paths FILE: the paths a diff changes.
diff_paths() { sed -n 's|^diff --git a/[^ ]* b/||p' "$1"; }

# port_make DIR PORT OUT: the port series of PORT (ports/X.Y/series: "NNNN
# FILE" folds the diff FILE into main patch NNNN in place of that patch's
# change to the files FILE changes; "NNNN -" leaves main patch NNNN out,
# for a change the base already has; "FILE" is a patch of its own after
# the series), made in DIR from the main series and exported to OUT. The main
# patches may need -C1 there (they were made for v6.8); what the port
# makes must then apply with a plain git am (series_apply).
port_make() {
	local dir=$1 port=$2 out=$3 p n f line
	local -a ex
	git_pinned -C "$dir" checkout -q -B cgpipe cgpipe-base
	git_pinned -C "$dir" reset -q --hard cgpipe-base
	n=0
	while read -r p; do
		n=$((n + 1))
		if port_lines "$port" | awk -v n="$n" 'NF == 2 && $1 + 0 == n && $2 == "-" { f = 1 } END { exit !f }'; then
			continue
		fi
		ex=()
		while read -r f; do
			while read -r line; do
				ex+=("--exclude=$line")
			done < <(diff_paths "$port/$f")
		done < <(port_lines "$port" | awk -v n="$n" 'NF == 2 && $1 + 0 == n { print $2 }')
		am_patches "$dir" "--ignore-whitespace -C1 ${ex[*]}" "$p" ||
			die "port ${port##*/}: ${p##*/} does not apply, even with -C1 and without the files the port folds in"
		while read -r f; do
			git_pinned -C "$dir" apply --index "$port/$f" ||
				die "port ${port##*/}: $f does not apply after ${p##*/}"
			git_pinned -C "$dir" commit -q --amend --no-edit
		done < <(port_lines "$port" | awk -v n="$n" 'NF == 2 && $1 + 0 == n { print $2 }')
	done < <(series_patches)
	while read -r f; do
		am_patches "$dir" "" "$port/$f" ||
			die "port ${port##*/}: $f does not apply on top of the series"
	done < <(port_lines "$port" | awk 'NF == 1')
	series_describe "$dir"
	format_series "$dir" "$out"
	git_pinned -C "$dir" reset -q --hard cgpipe-base
}

# series_apply DIR ALLOW_FUZZ: the series as commits on branch cgpipe over
# cgpipe-base. A base with a port (port_of) gets the port series with a
# plain git am. Other bases: git am, then git am ignoring whitespace in
# context lines (tables realigned in later kernels), then also with one
# line of context (lists that grew); past that only with ALLOW_FUZZ 1: git
# am -3, then patch with fuzz, which can put a line in the wrong place.
# Says which it took (apply_method).
series_apply() {
	local dir=$1 allow=$2 key method p port out
	local -a list
	port=$(port_of "$dir")
	key=$({
		git -C "$dir" rev-parse cgpipe-base
		cat "$CG_TOP/patches/0000-cover-letter.patch"
		series_patches | xargs cat
		[ -z "$port" ] || cat "$port"/*
		echo "$allow"
	} | sha256sum | cut -c1-16)
	stamp_ok "$dir/.git/cgpipe-applied" "$key" && return 0
	rm -f "$dir/.git/cgpipe-applied"
	git_pinned -C "$dir" checkout -q -B cgpipe cgpipe-base
	git_pinned -C "$dir" reset -q --hard cgpipe-base
	if [ -n "$port" ]; then
		out=$CG_OUT/ports/${port##*/}/$(base_version "$dir")
		port_make "$dir" "$port" "$out"
		list=("$out"/0*.patch)
		list=("${list[@]:1}")
		am_patches "$dir" "" "${list[@]}" ||
			die "the port series made from ${port#"$CG_TOP"/} does not apply with git am"
		method="git am of ports/${port##*/}"
		git_pinned -C "$dir" tag -f cgpipe-main \
			"cgpipe~$(port_lines "$port" | awk 'NF == 1' | wc -l)" >/dev/null
		git -C "$dir" config cgpipe.port "${port##*/}"
	else
		mapfile -t list < <(series_patches)
		for method in "" --ignore-whitespace "--ignore-whitespace -C1" -3 patch; do
			case "$method" in -3 | patch) [ "$allow" = 1 ] || break ;; esac
			[ "$method" = patch ] && break
			am_patches "$dir" "$method" "${list[@]}" && break
		done
		case "$method" in
		-3 | patch) [ "$allow" = 1 ] ||
			die "the series does not apply to $(base_version "$dir") with git am, even with -C1: give a port (ports/X.Y) or --allow-fuzz" ;;
		esac
		if [ "$method" = patch ]; then
			method="patch --fuzz=3"
			for p in "${list[@]}"; do
				patch -d "$dir" -p1 -s -N --fuzz=3 --no-backup-if-mismatch <"$p" ||
					die "the series does not apply: ${p##*/}"
				git_pinned -C "$dir" add -A -f
				git_pinned -C "$dir" commit -q -m "$(sed -n 's/^Subject: \[PATCH[^]]*\] //p' "$p" | sed -n 1p)"
			done
		else
			method="git am${method:+ $method}"
		fi
	fi
	if [ -z "$port" ]; then
		git_pinned -C "$dir" tag -f cgpipe-main cgpipe >/dev/null
		git -C "$dir" config --unset cgpipe.port || true
	fi
	series_describe "$dir"
	printf '%s\n' "$method" >"$dir/.git/cgpipe-method"
	stamp_set "$dir/.git/cgpipe-applied" "$key"
}

# apply_method DIR: how series_apply applied the series to DIR.
apply_method() { cat "$1/.git/cgpipe-method"; }

# cover_subject FILE: the cover letter's subject, unfolded, without [PATCH x/y].
cover_subject() {
	awk '/^Subject: /{s=$0; f=1; next} f && /^[ \t]/{s=s $0; next} f{exit}
	     END{print s}' "$1" | sed -E 's/^Subject: (\[[^]]*\] )?//; s/^[ \t]+//'
}

# series_maintainer: the address the series comes from (its first patch).
series_maintainer() {
	sed -n 's/^From: .*<\(.*\)>$/\1/p' "$(series_patches | sed -n 1p)" | sed -n 1p
}

# cover_body FILE: the lines after the mail header.
cover_body() { sed '1,/^$/d' "$1"; }

# format_series DIR OUTDIR: git format-patch of the series with
# pinned, reproducible settings: zero commit ids, the cover letter's date and
# sender taken from the last patch, v6.8 as the recorded base.
format_series() {
	local dir=$1 out=$2 who
	local -a rcpt=()
	rm -rf "$out"
	mkdir -p "$out"
	# To: the maintainers of what the series touches, Cc: their lists
	while IFS= read -r who; do
		rcpt+=("$who")
	done < <(cd "$dir" && git diff cgpipe-base..HEAD >"$out/.diff" &&
		./scripts/get_maintainer.pl --no-git --no-git-fallback --no-rolestats \
			--nol "$out/.diff" | sed 's/^/--to=/' &&
		./scripts/get_maintainer.pl --no-git --no-git-fallback --no-rolestats \
			--nom --nor "$out/.diff" | sed 's/^/--cc=/')
	rm -f "$out/.diff"
	GIT_COMMITTER_NAME=$(git -C "$dir" log -1 --format=%an HEAD) \
		GIT_COMMITTER_EMAIL=$(git -C "$dir" log -1 --format=%ae HEAD) \
		GIT_COMMITTER_DATE=$(git -C "$dir" log -1 --format=%aD HEAD) \
		git_pinned -C "$dir" format-patch -q --zero-commit --no-signature \
		--cover-letter --cover-from-description=subject --base=cgpipe-base \
		"${rcpt[@]}" -o "$out" cgpipe-base..HEAD
	sed -i -E "s/^base-commit: [0-9a-f]+$/base-commit: $V68_COMMIT/" "$out"/0000-cover-letter.patch
}

# cover_text FILE: the cover letter's own text: its body less what
# format-patch appends (the shortlog, the diffstat, the base-commit line),
# that is less everything from the first shortlog header ("Name (N):")
# after which only shortlog, diffstat and base lines follow; trailing
# blank lines dropped (the export drops them too).
cover_text() {
	cover_body "$1" | awk '{ l[++n] = $0 }
	END {
		cut = n + 1
		for (i = n; i >= 1; i--) {
			if (l[i] ~ /^$/ || l[i] ~ /^  / || l[i] ~ /^ [^ ]/ ||
			    l[i] ~ /^base-commit: / || l[i] ~ /^(prerequisite-patch-id|-- $)/)
				continue
			if (l[i] ~ /^[^ ].* \([0-9]+\):$/) {
				cut = i
				continue
			}
			break
		}
		last = cut - 1
		while (last > 0 && l[last] ~ /^$/)
			last--
		for (i = 1; i <= last; i++)
			print l[i]
	}'
}

# series_describe DIR: the cover letter's subject and text as the branch
# description of DIR, so that format_series gives the cover letter back.
# Reads patches/0000-cover-letter.patch only.
series_describe() {
	local cover=$CG_TOP/patches/0000-cover-letter.patch
	[ -f "$cover" ] || die "no cover letter: $cover"
	git_pinned -C "$1" config branch.cgpipe.description \
		"$(printf '%s\n\n' "$(cover_subject "$cover")"; cover_text "$cover")"
}

# series_tree SRC DIR: a kernel tree to hack on (cloned from SRC), the series as commits on branch
# cgpipe over the tag cgpipe-base. Edit, commit (rebase -i, --amend), then
# "scripts/cgpipe export". Edit the cover letter with
# "git branch --edit-description".
series_tree() {
	local src=$1 dir=$2 port
	[ -e "$dir" ] && die "$dir exists: export from it, or remove it first"
	git_pinned clone -q --branch cgpipe "$src" "$dir"
	git_pinned -C "$dir" fetch -q origin 'refs/tags/cgpipe-base:refs/tags/cgpipe-base' \
		'refs/tags/cgpipe-main:refs/tags/cgpipe-main'
	series_describe "$dir"
	# commits made here are the series' author's (and signed off by it)
	git -C "$dir" config user.name "$(sed -n 's/^From: \(.*\) <.*>$/\1/p' "$(series_patches | sed -n 1p)" | sed -n 1p)"
	git -C "$dir" config user.email "$(series_maintainer)"
	port=$(git -C "$src" config cgpipe.port || true)
	if [ -n "$port" ]; then
		git -C "$dir" config cgpipe.port "$port"
		say "tree: $dir (the port ports/$port: its own patches after the tag cgpipe-main; export writes them back)"
	fi
	say "tree: $dir (branch cgpipe; base tag cgpipe-base; $(kernel_version "$dir"))"
}

# series_export TREE DEST: write DEST/patches and DEST/series from TREE;
# from the tree of a port, write that port's own patches instead
# (port_export).
series_export() {
	local tree=$1 dest=$2 tmp f desc port
	git -C "$tree" rev-parse -q --verify cgpipe-base >/dev/null ||
		die "$tree is not a tree made by 'scripts/cgpipe tree'"
	port=$(git -C "$tree" config cgpipe.port || true)
	if [ -n "$port" ]; then
		port_export "$tree" "$dest/ports/$port"
		return 0
	fi
	# trailing blank lines of the cover letter would not survive a round trip
	desc=$(git -C "$tree" config branch.cgpipe.description || true)
	[ -z "$desc" ] || git -C "$tree" config branch.cgpipe.description "$desc"
	tmp=$(mktemp -d)
	format_series "$tree" "$tmp/patches"
	rm -f "$dest"/patches/*.patch
	mkdir -p "$dest/patches"
	cp "$tmp"/patches/*.patch "$dest/patches/"
	for f in "$tmp"/patches/*.patch; do
		f=${f##*/}
		[ "$f" = 0000-cover-letter.patch ] || printf '%s\n' "$f"
	done >"$dest/series"
	rm -rf "$tmp"
	say "exported $(wc -l <"$dest/series") patches and a cover letter to $dest/patches"
}

# port_export TREE PORT: the commits of TREE after the tag cgpipe-main,
# the port's own patches, written to PORT (format-patch with the pinned
# settings) in place of those its series names; its fold lines stay (the
# folded diffs are edited by hand).
port_export() {
	local tree=$1 port=$2 tmp f
	tmp=$(mktemp -d)
	port_lines "$port" | awk 'NF == 1' | while read -r f; do
		rm -f "$port/$f"
	done
	git_pinned -C "$tree" format-patch -q --zero-commit --no-signature -o "$tmp" cgpipe-main..HEAD
	{
		grep -vE '^[^#[:space:]]+[[:space:]]*(#.*)?$' "$port/series" || true
		for f in "$tmp"/*.patch; do
			[ -f "$f" ] || continue
			cp "$f" "$port/"
			printf '%s\n' "${f##*/}"
		done
	} >"$tmp/series"
	mv "$tmp/series" "$port/series"
	rm -rf "$tmp"
	say "exported the port's own patches to $port"
}

# normalise_base PATCH: PATCH less what depends on the base tree: blob ids,
# hunk positions, the context lines of the diffs (the base's own text) and
# the recipients (its MAINTAINERS file).
normalise_base() {
	sed -E 's/^index [0-9a-f]+\.\.[0-9a-f]+/index BLOB..BLOB/; s/^@@ -[0-9]+(,[0-9]+)? \+[0-9]+(,[0-9]+)? @@.*/@@ HUNK @@/' "$1" |
		awk '/^$/ { body = 1 }
		!body && /^(To|Cc): / { rcpt = 1; next }
		!body && rcpt && /^[ \t]/ { next }
		{ rcpt = 0 }
		/^diff --git /{d=1} !(d && /^ /)'
}

