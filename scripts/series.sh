# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The series and a kernel tree: apply the series as commits, make a tree to
# hack on, export patches/ back. Sourced by scripts/cgpipe after lib.sh.
#
# Every tree made here is a git repository whose base commit is tagged
# cgpipe-base and whose branch "cgpipe" carries the series; the cover letter
# text lives in that branch's description (what format-patch reads).

# Pinned git settings, so that the export gives the same bytes everywhere.
git_pinned() {
	GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git \
		-c core.abbrev=12 -c diff.algorithm=myers -c diff.renames=true \
		-c user.name="$GIT_COMMITTER_NAME" -c user.email="$GIT_COMMITTER_EMAIL" \
		-c advice.detachedHead=false "$@"
}

# kernel_version DIR: "6.8.0" from the tree's Makefile.
kernel_version() {
	awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3}
	     END{print v "." p "." s}' "$1/Makefile"
}

# series_am DIR OPTION...: git am the whole series with OPTIONs; on failure
# abort and return 1, leaving DIR at cgpipe-base.
series_am() {
	local dir=$1
	shift
	# shellcheck disable=SC2046 # one word per patch file
	git_pinned -C "$dir" am -q "$@" $(series_patches) >/dev/null 2>&1 && return 0
	git_pinned -C "$dir" am --abort >/dev/null 2>&1 || true
	git_pinned -C "$dir" reset -q --hard cgpipe-base
	return 1
}

# series_apply DIR: the series as commits on branch cgpipe over cgpipe-base.
# Tries git am, then git am ignoring whitespace in context lines (tables
# realigned in later kernels), then also with one line of context (lists
# that grew), then git am -3, then patch with fuzz; says which it took.
series_apply() {
	local dir=$1 key method p
	key=$({
		git -C "$dir" rev-parse cgpipe-base
		cat "$CG_TOP/patches/0000-cover-letter.patch"
		series_patches | xargs cat
	} | sha256sum | cut -c1-16)
	stamp_ok "$dir/.git/cgpipe-applied" "$key" && return 0
	git_pinned -C "$dir" checkout -q -B cgpipe cgpipe-base
	git_pinned -C "$dir" reset -q --hard cgpipe-base
	for method in "" --ignore-whitespace "--ignore-whitespace -C1" -3 patch; do
		[ "$method" = patch ] && break
		# shellcheck disable=SC2086 # no option at all for ""
		series_am "$dir" $method && break
	done
	if [ "$method" = patch ]; then
		method="patch --fuzz=3"
		while read -r p; do
			patch -d "$dir" -p1 -s -N --fuzz=3 --no-backup-if-mismatch <"$p" ||
				die "the series does not apply: ${p##*/}"
			git_pinned -C "$dir" add -A -f
			git_pinned -C "$dir" commit -q -m "$(sed -n 's/^Subject: \[PATCH[^]]*\] //p' "$p" | head -n 1)"
		done <<EOF
$(series_patches)
EOF
	else
		method="git am${method:+ $method}"
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
	sed -n 's/^From: .*<\(.*\)>$/\1/p' "$(series_patches | head -n 1)" | head -n 1
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
	local src=$1 dir=$2
	[ -e "$dir" ] && die "$dir exists: export from it, or remove it first"
	git_pinned clone -q --branch cgpipe "$src" "$dir"
	git_pinned -C "$dir" fetch -q origin 'refs/tags/cgpipe-base:refs/tags/cgpipe-base'
	series_describe "$dir"
	say "tree: $dir (branch cgpipe; base tag cgpipe-base; $(kernel_version "$dir"))"
}

# series_export TREE DEST: write DEST/patches and DEST/series from TREE.
series_export() {
	local tree=$1 dest=$2 tmp f desc
	git -C "$tree" rev-parse -q --verify cgpipe-base >/dev/null ||
		die "$tree is not a tree made by 'scripts/cgpipe tree'"
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

