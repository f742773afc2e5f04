# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The kernel source and the series: resolve a base tree, apply the series as
# commits, make a tree to hack on, export patches/ back, check the round trip.
# Sourced by scripts/cgpipe after lib.sh.
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

# commit_base TMP DIR LABEL: make the source in TMP a git tree whose one
# commit is tagged cgpipe-base, and move it to DIR. (add -f: Debian's source
# tarball ignores its whole top level in .gitignore.)
commit_base() {
	git_pinned -C "$1" init -q -b cgpipe
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

# tree_from_dir DIR DEST: a plain source directory, copied.
tree_from_dir() {
	rm -rf "$2.tmp"
	say "copying $1 (once)"
	rsync -a --exclude=.git "$1/" "$2.tmp/"
	commit_base "$2.tmp" "$2" "$1"
}

# fetch_v68: the pinned linux-6.8 tarball in the cache, downloading it when
# online. Prints its path, or nothing.
fetch_v68() {
	local t=$CG_CACHE/$V68_TARBALL
	mkdir -p "$CG_CACHE"
	if [ ! -f "$t" ] && [ "$OPT_OFFLINE" != 1 ] && have curl; then
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

# source_resolve: pick the base tree (see README) and set CG_SRC.
source_resolve() {
	local k=$OPT_KSRC ref t
	mkdir -p "$CG_OUT/src"
	if [ -n "$k" ]; then
		[ -e "$k" ] || die "--kernel-src $k does not exist"
		k=$(readlink -f "$k")
		if [ -f "$k" ]; then
			CG_SRC=$CG_OUT/src/tar-$(hash_of "$k")
			[ -d "$CG_SRC/.git" ] || tree_from_tarball "$k" "$CG_SRC"
			say "kernel source: tarball $k"
		elif git -C "$k" rev-parse --git-dir >/dev/null 2>&1; then
			ref=$OPT_KREF
			if [ -z "$ref" ]; then
				ref=HEAD
				git -C "$k" rev-parse -q --verify 'v6.8^{commit}' >/dev/null && ref=v6.8
			fi
			ref=$(git -C "$k" rev-parse --verify "$ref^{commit}") ||
				die "no commit '$ref' in $k"
			CG_SRC=$CG_OUT/src/git-$(printf '%s' "$ref" | cut -c1-12)
			tree_from_git "$k" "$ref" "$CG_SRC"
			say "kernel source: git tree $k at $ref"
		else
			CG_SRC=$CG_OUT/src/dir-$(hash_of "$k")
			[ -d "$CG_SRC/.git" ] || tree_from_dir "$k" "$CG_SRC"
			say "kernel source: directory $k"
		fi
		return 0
	fi
	t=$(fetch_v68)
	if [ -n "$t" ]; then
		CG_SRC=$CG_OUT/src/v6.8
		[ -d "$CG_SRC/.git" ] || tree_from_tarball "$t" "$CG_SRC"
		say "kernel source: $t (sha256 verified)"
		return 0
	fi
	t=$(debian_source)
	CG_SRC=$CG_OUT/src/$(basename "$t" .tar.xz)
	[ -d "$CG_SRC/.git" ] || tree_from_tarball "$t" "$CG_SRC"
	banner "No v6.8 source (no --kernel-src, no cached $V68_TARBALL, offline)." \
		"FALLING BACK to Debian's $t." \
		"The series is based on v6.8; this run tests it on another kernel."
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
	if stamp_ok "$dir/.git/cgpipe-applied" "$key"; then
		CG_APPLY_METHOD=$(cat "$dir/.git/cgpipe-method")
		return 0
	fi
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
	series_set_description "$dir"
	printf '%s\n' "$method" >"$dir/.git/cgpipe-method"
	stamp_set "$dir/.git/cgpipe-applied" "$key"
	CG_APPLY_METHOD=$method
}

# source_prepare: resolve the base, apply the series; sets CG_SRC, CG_BASE_VERSION.
source_prepare() {
	[ -n "${CG_SRC:-}" ] && return 0
	source_resolve
	series_apply "$CG_SRC"
	CG_BASE_VERSION=$(kernel_version "$CG_SRC")
	say "base $CG_BASE_VERSION, series applied with: $CG_APPLY_METHOD"
	[ "$CG_APPLY_METHOD" = "git am" ] ||
		banner "The series did not apply cleanly on $CG_BASE_VERSION: needed $CG_APPLY_METHOD."
}

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

# series_set_description DIR: the cover letter's text as the branch
# description, so that format_series gives the cover letter back. The text is
# the cover letter's body less the shortlog and diffstat that format-patch
# appends; those are found by formatting once with a bare subject.
series_set_description() {
	local dir=$1 cover=$CG_TOP/patches/0000-cover-letter.patch subject probe n
	[ -f "$cover" ] || die "no cover letter: $cover"
	subject=$(cover_subject "$cover")
	git_pinned -C "$dir" config branch.cgpipe.description "$subject"
	probe=$(mktemp -d)
	format_series "$dir" "$probe"
	n=$(cover_body "$probe/0000-cover-letter.patch" | wc -l)
	rm -rf "$probe"
	git_pinned -C "$dir" config branch.cgpipe.description \
		"$(printf '%s\n\n' "$subject"; cover_body "$cover" | head -n "-$n")"
}

# series_tree DIR: a kernel tree to hack on, the series as commits on branch
# cgpipe over the tag cgpipe-base. Edit, commit (rebase -i, --amend), then
# "scripts/cgpipe export". Edit the cover letter with
# "git branch --edit-description".
series_tree() {
	local dir=$1
	[ -e "$dir" ] && die "$dir exists: export from it, or remove it first"
	git_pinned clone -q --branch cgpipe "$CG_SRC" "$dir"
	git_pinned -C "$dir" fetch -q origin 'refs/tags/cgpipe-base:refs/tags/cgpipe-base'
	series_set_description "$dir"
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

# base_exact: true when the series sits on v6.8 as made (plain git am), so
# that what is exported from the tree must equal patches/ byte for byte.
base_exact() {
	[ "$CG_BASE_VERSION" = 6.8.0 ] && [ "$CG_APPLY_METHOD" = "git am" ]
}

# series_roundtrip: export the applied series again and compare with patches/.
# Byte for byte on v6.8; elsewhere less the base-dependent lines, said loudly.
series_roundtrip() {
	local tmp f rc=0 exact=1
	if ! base_exact; then
		exact=0
		warn "base is $CG_BASE_VERSION ($CG_APPLY_METHOD), not v6.8: the round trip ignores blob ids, hunk positions and context lines"
	fi
	tmp=$(mktemp -d)
	series_export "$CG_SRC" "$tmp" 2>/dev/null
	cmp -s "$tmp/series" "$CG_TOP/series" || {
		warn "round trip: series file differs"
		rc=1
	}
	for f in $( (
		cd "$CG_TOP/patches" && ls -- *.patch
		cd "$tmp/patches" && ls -- *.patch
	) | sort -u); do
		if [ ! -f "$tmp/patches/$f" ] || [ ! -f "$CG_TOP/patches/$f" ]; then
			warn "round trip: $f exists on one side only"
			rc=1
			continue
		fi
		if [ "$exact" = 1 ]; then
			cmp -s "$CG_TOP/patches/$f" "$tmp/patches/$f" && continue
			diff -u "$CG_TOP/patches/$f" "$tmp/patches/$f" | head -n 40 >&2
		else
			diff -u <(normalise_base "$CG_TOP/patches/$f") \
				<(normalise_base "$tmp/patches/$f") >/dev/null && continue
			diff -u <(normalise_base "$CG_TOP/patches/$f") \
				<(normalise_base "$tmp/patches/$f") | head -n 40 >&2
		fi
		warn "round trip: $f differs from its export (hand-edited? use scripts/cgpipe tree/export)"
		rc=1
	done
	rm -rf "$tmp"
	return "$rc"
}

# Each patch must build on its own. prefix_dirs: the scratch worktree
# (PX_TREE) where prefixes of the series are checked out one by one, and
# its O= dirs, one per arch and CONFIG_CGPIPE value (PX_BUILD ARCH Y|M).
prefix_dirs() {
	PX_TREE=$CG_OUT/prefix/${CG_SRC##*/}
	if [ ! -e "$PX_TREE/.git" ]; then
		mkdir -p "${PX_TREE%/*}"
		git -C "$CG_SRC" worktree prune
		git_pinned -C "$CG_SRC" worktree add -q --detach "$PX_TREE" cgpipe-base ||
			die "cannot make the worktree $PX_TREE"
	fi
}

# prefix_make ARCH Y|M ARGS...: make in PX_TREE for that arch and config.
prefix_make() {
	local arch=$1 val=$2
	shift 2
	load_arch "$arch"
	CG_BUILD=$CG_OUT/prefix/build-$arch-$val
	mkdir -p "$CG_BUILD"
	CG_SRC=$PX_TREE kmake -s "$@"
}

# prefix_config ARCH Y|M: tinyconfig plus what cgpipe needs, cgpipe =Y|M.
prefix_config() {
	local frag
	[ -f "$CG_OUT/prefix/build-$1-$2/.config" ] && return 0
	frag=$CG_OUT/prefix/cgpipe-$2.config
	{
		cat "$CG_TOP/qemu/common.config" "$CG_TOP/Kconfig.fragment"
		if [ "$2" = m ]; then
			printf 'CONFIG_MODULES=y\nCONFIG_CGPIPE=m\n'
		fi
	} >"$frag"
	prefix_make "$1" "$2" tinyconfig >/dev/null &&
		"$PX_TREE/scripts/kconfig/merge_config.sh" -m -O "$CG_BUILD" \
			"$CG_BUILD/.config" "$frag" >/dev/null &&
		prefix_make "$1" "$2" olddefconfig >/dev/null
}

# prefix_check_kernel: the driver objects of the checked-out prefix, on every
# arch, built in and as a module, W=1 and C=2 (sparse), warning-free; and
# kernel-doc of its sources. Prints what it found; returns 1 on any.
prefix_check_kernel() {
	local a v out f rc=0
	for a in $(list_arches); do
		for v in y m; do
			prefix_config "$a" "$v" || return 1
			# C=2 also checks what prepare rebuilds (an arm64 vdso file
			# warns on 6.12): only our files' warnings count
			if ! out=$(prefix_make "$a" "$v" W=1 C=2 drivers/char/cgpipe.o 2>&1) ||
				printf '%s\n' "$out" | grep -E 'warning|error' | grep -q cgpipe; then
				printf '%s: CONFIG_CGPIPE=%s:\n%s\n' "$a" "$v" "$out"
				rc=1
			fi
		done
	done
	for f in drivers/char/cgpipe.c drivers/char/cgpipe_kunit.c include/uapi/linux/cgpipe.h; do
		[ -f "$PX_TREE/$f" ] || continue
		out=$(cd "$PX_TREE" && ./scripts/kernel-doc -none -Wall "$f" 2>&1)
		[ -z "$out" ] || {
			printf 'kernel-doc %s:\n%s\n' "$f" "$out"
			rc=1
		}
	done
	return "$rc"
}

# prefix_check_selftests: the kselftests of the checked-out prefix compile
# without warnings for every arch, against its own uapi headers.
prefix_check_selftests() {
	local a f out rc=0
	for a in $(list_arches); do
		prefix_config "$a" y || return 1
		prefix_make "$a" y headers >/dev/null 2>&1 || return 1
		for f in "$PX_TREE"/tools/testing/selftests/cgpipe/*.c; do
			out=$("${CROSS_COMPILE}gcc" -Wall -O2 -fsyntax-only \
				-isystem "$CG_BUILD/usr/include" \
				-I "$PX_TREE/tools/testing/selftests" "$f" 2>&1) || rc=1
			[ -z "$out" ] || {
				printf '%s %s:\n%s\n' "$a" "${f##*/}" "$out"
				rc=1
			}
		done
	done
	return "$rc"
}

# series_prefixes: check out each prefix of the series and check what its
# last patch touches (the rest was checked with an earlier prefix). Prints
# one "pass|fail NAME" line per patch.
series_prefixes() {
	local c n=0 files name out rc
	prefix_dirs
	for c in $(git -C "$CG_SRC" rev-list --reverse cgpipe-base..cgpipe); do
		n=$((n + 1))
		git -C "$PX_TREE" checkout -q --detach "$c" || die "cannot check out $c"
		files=$(git -C "$PX_TREE" diff-tree --no-commit-id --name-only -r "$c")
		name=$(printf 'patch %02d builds alone' "$n")
		rc=0
		out=
		case "$files" in
		*drivers/char/* | *include/*)
			out=$(prefix_check_kernel 2>&1) || rc=1
			;;
		esac
		case "$files" in
		*tools/testing/selftests/*)
			out=$out$(prefix_check_selftests 2>&1) || rc=1
			;;
		esac
		if [ "$rc" = 0 ]; then
			printf 'pass %s\n' "$name"
		else
			printf '%s\n' "$out" | head -n 30 >&2
			printf 'fail %s\n' "$name"
		fi
	done
}

# series_quilt: quilt push -a of patches/ and series onto the base, in the
# prefix worktree; on v6.8 without fuzz. Leaves the worktree at the base.
series_quilt() {
	local out rc=0
	prefix_dirs
	git -C "$PX_TREE" checkout -qf --detach cgpipe-base
	git -C "$PX_TREE" clean -fdxq
	out=$(cd "$PX_TREE" && QUILT_PATCHES=$CG_TOP/patches QUILT_SERIES=$CG_TOP/series \
		quilt push -a 2>&1) || rc=1
	if [ "$rc" = 0 ] && printf '%s\n' "$out" | grep -q 'with fuzz'; then
		if [ "$CG_BASE_VERSION" = 6.8.0 ]; then
			rc=1
		else
			warn "quilt: base $CG_BASE_VERSION needed fuzz (fine off v6.8)"
		fi
	fi
	[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -n 20 >&2
	git -C "$PX_TREE" checkout -qf --detach cgpipe-base
	git -C "$PX_TREE" clean -fdxq
	return "$rc"
}

# mail_parts FILE DIR: what a patch mail says, split by git mailinfo into
# DIR/{info,msg,diff}: info without the date, diff without the diffstat and
# the abbreviated blob ids and the signature (settings of the sender); off
# v6.8 also without hunk positions and context lines (normalise_base).
mail_parts() {
	mkdir -p "$2"
	git mailinfo "$2/msg" "$2/patch" <"$1" | grep -v '^Date:' >"$2/info"
	sed -n '/^diff --git /,$p' "$2/patch" | sed '/^-- $/,$d' | grep -v '^index ' >"$2/diff.raw"
	if base_exact; then
		mv "$2/diff.raw" "$2/diff"
	else
		normalise_base "$2/diff.raw" >"$2/diff"
	fi
}

# series_b4: the series through b4 as a maintainer would get it: b4 prep
# (To/Cc from get_maintainer.pl), b4 send to files, an mbox of those, b4 am
# -Q; the quilt-ready patches must say what ours say, patch for patch.
series_b4() {
	local tmp rc=0 ours theirs n i
	tmp=$(mktemp -d)
	git_pinned clone -q --shared --branch cgpipe "$CG_SRC" "$tmp/tree"
	git -C "$tmp/tree" branch base cgpipe-base
	git -C "$tmp/tree" config branch.cgpipe.description \
		"$(git -C "$CG_SRC" config branch.cgpipe.description)"
	# b4 runs with HOME=$tmp: nothing of the user's configuration leaks in
	git config -f "$tmp/.gitconfig" user.name "$(git -C "$CG_SRC" log -1 --format=%an cgpipe)"
	git config -f "$tmp/.gitconfig" user.email "$(series_maintainer)"
	git -C "$tmp/tree" config b4.prep-cover-strategy branch-description
	git -C "$tmp/tree" config b4.send-endpoint-web ""
	git -C "$tmp/tree" config sendemail.smtpserver /bin/false
	if ! (cd "$tmp/tree" && export HOME=$tmp && b4 -q prep -e base && b4 -q prep -c &&
		b4 -q send --no-sign -o "$tmp/sent") >"$tmp/b4.log" 2>&1; then
		tail -n 20 "$tmp/b4.log" >&2
		rm -rf "$tmp"
		return 1
	fi
	for i in "$tmp"/sent/*.eml; do
		printf 'From mboxrd@z Thu Jan  1 00:00:00 1970\n'
		cat "$i"
		printf '\n'
	done >"$tmp/series.mbox"
	grep -q '^To: .*' "$tmp/sent/0000-"*.eml || {
		warn "b4: the cover letter has no To: from get_maintainer.pl"
		rc=1
	}
	mkdir -p "$tmp/am"
	if ! (cd "$tmp" && HOME=$tmp b4 -q am -m series.mbox -Q -o am) >"$tmp/am.log" 2>&1; then
		tail -n 20 "$tmp/am.log" >&2
		rm -rf "$tmp"
		return 1
	fi
	n=0
	while read -r ours; do
		n=$((n + 1))
		theirs=$(sed -n "${n}p" "$tmp"/am/*.patches/series)
		if [ -z "$theirs" ]; then
			warn "b4 am: no patch $n"
			rc=1
			continue
		fi
		mail_parts "$ours" "$tmp/ours.$n"
		mail_parts "$tmp/am/"*.patches/"$theirs" "$tmp/theirs.$n"
		for i in info msg diff; do
			cmp -s "$tmp/ours.$n/$i" "$tmp/theirs.$n/$i" && continue
			diff -u "$tmp/ours.$n/$i" "$tmp/theirs.$n/$i" | head -n 20 >&2
			warn "b4 am: patch $n differs from ours ($i)"
			rc=1
		done
	done <<EOF
$(series_patches)
EOF
	[ "$(grep -c . "$tmp"/am/*.patches/series)" = "$n" ] || {
		warn "b4 am: not $n patches"
		rc=1
	}
	rm -rf "$tmp"
	return "$rc"
}
