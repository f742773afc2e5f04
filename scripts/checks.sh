# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The series checks. Each check_* function takes the applied tree (SRC)
# and what else it needs as arguments; a check with one result returns
# 0 (pass) or 1 (fail), a check with several prints one line per result,
# "pass NAME", "fail NAME" or "skip NAME", and the diagnostics on stderr.
# Sourced by scripts/cgpipe after lib.sh, series.sh and guest.sh.

# result_of NAME FN ARGS...: run the check FN as a stage and print its
# result line: "pass NAME" (0), "fail NAME" (1), "skip NAME" (3), or
# "infra NAME" (no verdict).
result_of() {
	local name=$1 rc=0
	shift
	stage "$@" || rc=$?
	printf '%s %s\n' "$(result_word "$rc")" "$name"
}

# results_of NAME FN ARGS...: run FN, a check with a result line per
# part, as a stage; if it stopped (no verdict), one more line says so.
results_of() {
	local name=$1 rc=0
	shift
	stage "$@" || rc=$?
	[ "$rc" -le 1 ] || printf 'infra %s\n' "$name"
}

# series_checks SRC TIMES: the checks of the series that boot nothing,
# one result line each; the time of each group is appended to TIMES
# ("NAME DURATION" lines).
series_checks() {
	local src=$1 times=$2 start=$SECONDS arches
	say "shellcheck"
	result_of shellcheck check_shellcheck
	say "the harness stops a stage at its first failing command"
	result_of "harness: a failing command stops its stage" check_harness
	say "the harness tells cgpipe's KCSAN reports from the base kernel's"
	result_of "harness: KCSAN reports sorted" check_kcsan_split
	say "checkpatch --strict ($src)"
	results_of checkpatch check_checkpatch "$src"
	say "MAINTAINERS covers every file the series adds"
	result_of maintainers check_maintainers "$src"
	say "round trip: apply, export, compare"
	result_of "round trip" check_roundtrip "$src"
	say "quilt push -a of patches/ and series onto the base"
	result_of quilt check_quilt "$src"
	say "b4 prep, b4 send to files, b4 am -Q: the same patches back"
	result_of b4 check_b4 "$src"
	say "the litmus tests of the series through herd7 (${HERD7:-herd7})"
	result_of "litmus tests: herd7 gives each its Result" check_litmus "$src"
	printf 'checks %s\n' "$(elapsed "$start")" >>"$times"
	start=$SECONDS
	arches=$(list_arches)
	say "every patch builds alone: ${arches%% *}, cgpipe =m and =y, W=1, C=2 (sparse), kernel-doc; the series on the other arches, built in"
	results_of "prefix builds" check_prefix_builds "$src"
	printf 'prefix builds %s\n' "$(elapsed "$start")" >>"$times"
}

# compat_prepare SPEC ROW TIMES: apply the series to the base SPEC (a
# kernel source as -k takes it, "debian" for Debian's linux-source) and
# check that the driver and the suite build on it (check_tree_builds);
# one result line each. ROW gets "SRC|VERSION|METHOD|BUILDS" for
# compat_report; TIMES the time it took.
compat_prepare() {
	local spec=$1 row=$2 start=$SECONDS src version method rc=0
	[ "$spec" != debian ] || spec=$(debian_source)
	if ! src=$(stage source_prepare "$spec" "" "${CGPIPE_OFFLINE:-0}" "${CGPIPE_ALLOW_FUZZ:-0}"); then
		printf 'fail compat %s: the series applies\n' "${spec:-(default)}"
		printf '|%s|does not apply|no\n' "${spec:-(default)}" >"$row"
		return 0
	fi
	version=$(kernel_version "$src")
	method=$(apply_method "$src")
	say "compat $version: the driver and the suite build"
	stage check_tree_builds "$src" arm64 y || rc=$?
	printf '%s compat %s: the driver and the suite build (arm64, W=1, C=2)\n' \
		"$(result_word "$rc")" "$version"
	printf '%s|%s|%s|%s\n' "$src" "$version" "$method" "$([ "$rc" = 0 ] && echo yes || echo no)" >"$row"
	printf 'compat %s %s\n' "$version" "$(elapsed "$start")" >>"$3"
}

# check_shellcheck: shellcheck -x of the harness.
check_shellcheck() {
	shellcheck -x "$CG_TOP"/scripts/cgpipe "$CG_TOP"/scripts/*.sh \
		"$CG_TOP"/selftests/init "$CG_TOP"/selftests/timeout "$CG_TOP"/.ci/run >&2 ||
		return 1
}

# checkpatch_path: a PATH where checkpatch's spdxcheck.py finds a python3
# with ply and GitPython (Debian's; a pyenv one may lack them).
checkpatch_path() {
	if python3 -c 'import ply, git' 2>/dev/null; then
		printf '%s\n' "$PATH"
	elif /usr/bin/python3 -c 'import ply, git' 2>/dev/null; then
		printf '%s\n' "/usr/bin:$PATH"
	else
		die "checkpatch needs python3 with ply and git (python3-ply python3-git)"
	fi
}

# check_checkpatch SRC: checkpatch.pl --strict of every patch, one result
# each, one checkpatch per core. New files are checked against MAINTAINERS
# by check_maintainers.
check_checkpatch() {
	local p path tmp
	path=$(checkpatch_path)
	tmp=$(mktemp -d)
	# shellcheck disable=SC2016 # the shell xargs starts expands them
	series_patches | (cd "$1" && PATH=$path xargs -P "$CG_JOBS" -I{} sh -c \
		'./scripts/checkpatch.pl --strict --quiet --ignore FILE_PATH_CHANGES "$1" \
			>"$2/${1##*/}.out" 2>&1; echo $? >"$2/${1##*/}.rc"' sh {} "$tmp")
	while read -r p; do
		p=${p##*/}
		if [ "$(cat "$tmp/$p.rc")" = 0 ] && [ ! -s "$tmp/$p.out" ]; then
			printf 'pass checkpatch %s\n' "$p"
		else
			cat "$tmp/$p.out" >&2
			printf 'fail checkpatch %s\n' "$p"
		fi
	done < <(series_patches)
	rm -rf "$tmp"
}

# check_maintainers SRC: get_maintainer.pl names our entry for every file
# the series adds.
check_maintainers() {
	local f rc=0 who me
	me=$(series_maintainer)
	while read -r f; do
		[ -n "$f" ] || continue
		who=$(cd "$1" && ./scripts/get_maintainer.pl --no-git \
			--no-git-fallback --no-rolestats -f "$f" 2>/dev/null) || true
		case "$who" in
		*"$me"*) ;;
		*)
			warn "MAINTAINERS: no entry of ours covers $f"
			rc=1
			;;
		esac
	done <<EOF
$(git -C "$1" diff --name-only --diff-filter=A cgpipe-base cgpipe)
EOF
	return "$rc"
}

# base_exact SRC: true when the series sits on v6.8 as made (plain git am),
# so that what is exported from the tree must equal patches/ byte for byte.
base_exact() {
	[ "$(kernel_version "$1")" = 6.8.0 ] && [ "$(apply_method "$1")" = "git am" ]
}

# check_roundtrip SRC: export the series applied in SRC again and compare
# with patches/. Byte for byte on v6.8; elsewhere less the base-dependent
# lines, said loudly.
check_roundtrip() {
	local tmp f rc=0 exact=1
	if ! base_exact "$1"; then
		exact=0
		warn "base is $(kernel_version "$1") ($(apply_method "$1")), not v6.8: the round trip ignores blob ids, hunk positions and context lines"
	fi
	tmp=$(mktemp -d)
	series_export "$1" "$tmp" 2>/dev/null
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
			diff -u "$CG_TOP/patches/$f" "$tmp/patches/$f" | sed -n 1,40p >&2 || true
		else
			diff -u <(normalise_base "$CG_TOP/patches/$f") \
				<(normalise_base "$tmp/patches/$f") >/dev/null && continue
			diff -u <(normalise_base "$CG_TOP/patches/$f") \
				<(normalise_base "$tmp/patches/$f") | sed -n 1,40p >&2 || true
		fi
		warn "round trip: $f differs from its export (hand-edited? use scripts/cgpipe tree/export)"
		rc=1
	done
	rm -rf "$tmp"
	return "$rc"
}

# check_quilt SRC: quilt push -a of patches/ and series onto the base, in
# the prefix worktree; on v6.8 without fuzz. Leaves the worktree at the base.
check_quilt() {
	local out rc=0 PX_TREE
	PX_TREE=$(prefix_tree "$1")
	git -C "$PX_TREE" checkout -qf --detach cgpipe-base
	git -C "$PX_TREE" clean -fdxq
	out=$(cd "$PX_TREE" && QUILT_PATCHES=$CG_TOP/patches QUILT_SERIES=$CG_TOP/series \
		quilt push -a 2>&1) || rc=1
	if [ "$rc" = 0 ] && grep -q 'with fuzz' <<<"$out"; then
		if [ "$(kernel_version "$1")" = 6.8.0 ]; then
			rc=1
		else
			warn "quilt: base $(kernel_version "$1") needed fuzz (fine off v6.8)"
		fi
	fi
	[ "$rc" = 0 ] || printf '%s\n' "$out" | tail -n 20 >&2
	git -C "$PX_TREE" checkout -qf --detach cgpipe-base
	git -C "$PX_TREE" clean -fdxq
	return "$rc"
}

# mail_parts SRC FILE DIR: what a patch mail says, split by git mailinfo into
# DIR/{info,msg,diff}: info without the date, diff without the diffstat and
# the abbreviated blob ids and the signature (settings of the sender); off
# v6.8 also without hunk positions and context lines (normalise_base).
mail_parts() {
	local d=$3
	mkdir -p "$d"
	git mailinfo "$d/msg" "$d/patch" <"$2" | grep -v '^Date:' >"$d/info"
	sed -n '/^diff --git /,$p' "$d/patch" | sed '/^-- $/,$d' | grep -v '^index ' >"$d/diff.raw"
	if base_exact "$1"; then
		mv "$d/diff.raw" "$d/diff"
	else
		normalise_base "$d/diff.raw" >"$d/diff"
	fi
}

# check_b4 SRC: the series through b4 as a maintainer would get it: b4 prep
# (To/Cc from get_maintainer.pl), b4 send to files, an mbox of those, b4 am
# -Q; the quilt-ready patches must say what ours say, patch for patch.
check_b4() {
	local tmp rc=0 ours theirs n i
	tmp=$(mktemp -d)
	git_pinned clone -q --shared --branch cgpipe "$1" "$tmp/tree"
	git -C "$tmp/tree" branch base cgpipe-base
	git -C "$tmp/tree" config branch.cgpipe.description \
		"$(git -C "$1" config branch.cgpipe.description)"
	# b4 runs with HOME=$tmp: nothing of the user's configuration leaks in
	git config -f "$tmp/.gitconfig" user.name "$(git -C "$1" log -1 --format=%an cgpipe)"
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
		mail_parts "$1" "$ours" "$tmp/ours.$n"
		mail_parts "$1" "$tmp/am/"*.patches/"$theirs" "$tmp/theirs.$n"
		for i in info msg diff; do
			cmp -s "$tmp/ours.$n/$i" "$tmp/theirs.$n/$i" && continue
			diff -u "$tmp/ours.$n/$i" "$tmp/theirs.$n/$i" | sed -n 1,20p >&2 || true
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
# prefix_tree SRC: the scratch worktree of SRC where prefixes of the series
# are checked out one by one (made at the base if need be); prints its path.
prefix_tree() {
	local px=$CG_OUT/prefix/${1##*/}
	if [ ! -e "$px/.git" ]; then
		mkdir -p "${px%/*}"
		git -C "$1" worktree prune
		git_pinned -C "$1" worktree add -q --detach "$px" cgpipe-base >&2 ||
			die "cannot make the worktree $px"
	fi
	printf '%s\n' "$px"
}

# prefix_build PX ARCH M|Y: the O= dir for the compile checks of the
# prefixes of PX on ARCH, cgpipe a module (m) or built in (y): one each,
# configured once (make's syncconfig takes up the options of a later
# prefix), so that a prefix rebuilds only the files it changed.
prefix_build() { printf '%s\n' "$CG_OUT/prefix/${1##*/}-build-$2-$3"; }

# prefix_make PX ARCH M|Y ARGS...: make in the worktree PX for that arch,
# in that build.
prefix_make() {
	local px=$1 arch=$2 v=$3
	shift 3
	load_arch "$arch"
	kmake "$px" "$(prefix_build "$px" "$arch" "$v")" -s "$@"
}

# prefix_config PX ARCH M|Y: tinyconfig plus what cgpipe needs, with
# modules, and CONFIG_CGPIPE=M|Y: as a module without memcg and debugfs
# (their stubs must build too), built in with them (the code that uses
# them, and mm/memcontrol.c, which the series exports from). Made once,
# and again when that fragment changes.
prefix_config() {
	local px=$1 arch=$2 v=$3 build frag
	build=$(prefix_build "$px" "$arch" "$v")
	frag=$(
		cat "$CG_TOP/qemu/common.config" "$CG_TOP/Kconfig.fragment"
		printf 'CONFIG_MODULES=y\nCONFIG_CGPIPE=%s\n' "$v"
		[ "$v" = m ] || printf 'CONFIG_MEMCG=y\nCONFIG_DEBUG_FS=y\n'
	)
	if [ -f "$build/.config" ] && [ "$frag" = "$(cat "$build.fragment" 2>/dev/null)" ]; then
		return 0
	fi
	mkdir -p "$build"
	printf '%s\n' "$frag" >"$build.fragment"
	if ! prefix_make "$px" "$arch" "$v" tinyconfig >/dev/null ||
		! "$px/scripts/kconfig/merge_config.sh" -m -O "$build" \
			"$build/.config" "$build.fragment" >/dev/null ||
		! prefix_make "$px" "$arch" "$v" olddefconfig >/dev/null ||
		! grep -qx "CONFIG_CGPIPE=$v" "$build/.config" ||
		{ [ "$v" = y ] && ! grep -qx CONFIG_MEMCG=y "$build/.config"; }; then
		rm -f "$build/.config"
		return 1
	fi
}

# prefix_check_objects PX FILE...: the objects of other kernel C files a
# patch changed (say mm/memcontrol.c), built into the built-in directory
# of the first arch of PX_ARCHES (errors only: W=1 is for our files).
prefix_check_objects() {
	local px=$1 a f out rc=0
	shift
	a=${PX_ARCHES:-$(list_arches)}
	a=${a%% *}
	prefix_config "$px" "$a" y || return 1
	for f; do
		out=$(prefix_make "$px" "$a" y "${f%.c}.o" 2>&1) || {
			printf '%s %s:\n%s\n' "$a" "$f" "$out"
			rc=1
		}
	done
	return "$rc"
}

# cgpipe_objects PX: make's target for the driver of the checked-out
# prefix: drivers/char/cgpipe.o, or the directory once it is split.
cgpipe_objects() {
	if [ -d "$1/drivers/char/cgpipe" ]; then
		printf 'drivers/char/cgpipe/\n'
	else
		printf 'drivers/char/cgpipe.o\n'
	fi
}

# prefix_check_arch PX ARCH: the driver objects of the checked-out prefix
# on ARCH, as a module and built in, W=1, warning-free, and built in also
# through sparse (C=2: what it says does not depend on =m or =y). Prints
# what it found; returns 1 on any.
prefix_check_arch() {
	local px=$1 a=$2 v out rc=0 objs
	local -a sparse
	objs=$(cgpipe_objects "$px")
	for v in ${PX_MODES:-m y}; do
		prefix_config "$px" "$a" "$v" || {
			printf '%s: cannot configure CONFIG_CGPIPE=%s\n' "$a" "$v"
			return 1
		}
		sparse=()
		[ "$v" = m ] || sparse=(C=2)
		# C=2 also checks what prepare rebuilds (an arm64 vdso file
		# warns on 6.12): only our files' warnings count
		if ! out=$(prefix_make "$px" "$a" "$v" W=1 "${sparse[@]}" "$objs" 2>&1) ||
			grep -E 'warning|error' <<<"$out" |
			grep -cE '(drivers/char|include/uapi/linux|samples)/cgpipe' >/dev/null; then
			printf '%s: CONFIG_CGPIPE=%s:\n%s\n' "$a" "$v" "$out"
			rc=1
		fi
	done
	return "$rc"
}

# prefix_check_kernel PX: prefix_check_arch on every arch, the arches side
# by side (each builds one file at a time); and kernel-doc of the
# driver's sources. Prints what it found; returns 1 on any.
prefix_check_kernel() {
	local px=$1 a f out rc=0 tmp
	local -A pid
	tmp=$(mktemp -d)
	for a in ${PX_ARCHES:-$(list_arches)}; do
		prefix_check_arch "$px" "$a" >"$tmp/$a" 2>&1 &
		pid[$a]=$!
	done
	for a in ${PX_ARCHES:-$(list_arches)}; do
		wait "${pid[$a]}" || rc=1
		cat "$tmp/$a"
	done
	rm -rf "$tmp"
	for f in "$px"/drivers/char/cgpipe*.c "$px"/drivers/char/cgpipe/*.[ch] \
		"$px"/include/uapi/linux/cgpipe.h; do
		[ -f "$f" ] || continue
		f=${f#"$px"/}
		out=$(cd "$px" && ./scripts/kernel-doc -none -Wall "$f" 2>&1)
		[ -z "$out" ] || {
			printf 'kernel-doc %s:\n%s\n' "$f" "$out"
			rc=1
		}
	done
	return "$rc"
}

# prefix_check_selftests PX [FILE...]: the kselftests of the checked-out
# prefix (only the FILEs, if given) compile without warnings for every
# arch, against its own uapi headers; the arches side by side.
prefix_check_selftests() {
	local px=$1 a rc=0 tmp
	local -A pid
	shift
	tmp=$(mktemp -d)
	for a in ${PX_ARCHES:-$(list_arches)}; do
		prefix_check_selftests_arch "$px" "$a" "$@" >"$tmp/$a" 2>&1 &
		pid[$a]=$!
	done
	for a in ${PX_ARCHES:-$(list_arches)}; do
		wait "${pid[$a]}" || rc=1
		cat "$tmp/$a"
	done
	rm -rf "$tmp"
	return "$rc"
}

# prefix_check_selftests_arch PX ARCH [FILE...]: the same on one arch.
prefix_check_selftests_arch() {
	local px=$1 a=$2 f out rc=0 build key
	local -a files
	shift 2
	files=("$@")
	if [ "$#" = 0 ]; then
		# none yet at the patches before the first test
		[ -d "$px/tools/testing/selftests/cgpipe" ] || return 0
		files=("$px"/tools/testing/selftests/cgpipe/*.c)
	fi
	load_arch "$a"
	build=$(prefix_build "$px" "$a" y)
	prefix_config "$px" "$a" y || return 1
	# the uapi headers again only when ours changed
	key=$(hash_of "$px/include/uapi/linux/cgpipe.h")
	if ! stamp_ok "$build/.cgpipe-headers" "$key"; then
		prefix_make "$px" "$a" y headers >/dev/null 2>&1 || return 1
		stamp_set "$build/.cgpipe-headers" "$key"
	fi
	for f in "${files[@]}"; do
		out=$("${CROSS_COMPILE}gcc" -Wall -O2 -fsyntax-only \
			-isystem "$build/usr/include" \
			-I "$px/tools/testing/selftests" "$f" 2>&1) || rc=1
		[ -z "$out" ] || {
			printf '%s %s:\n%s\n' "$a" "${f##*/}" "$out"
			rc=1
		}
	done
	return "$rc"
}

# check_harness: a stage stops at its first failing command, names it, and
# the run ends with no verdict (exit 2). Checked on the source stage: on a
# tiny kernel tarball, with a git first in PATH that refuses "git tag",
# the stage must stop at the tag of the base, before it goes on to say
# which source it took (and fail later, elsewhere, as a stage that ran on
# past the failure would).
check_harness() {
	local tmp rc=0 bad=0 real
	tmp=$(mktemp -d)
	mkdir -p "$tmp/bin" "$tmp/k/linux"
	real=$(command -v git)
	cat >"$tmp/bin/git" <<EOF
#!/bin/sh
for a; do [ "\$a" != tag ] || { echo "git: tag refused by the harness test" >&2; exit 1; }; done
exec "$real" "\$@"
EOF
	chmod +x "$tmp/bin/git"
	printf 'VERSION = 6\nPATCHLEVEL = 8\nSUBLEVEL = 0\n' >"$tmp/k/linux/Makefile"
	tar -C "$tmp/k" -cf "$tmp/k.tar" linux
	PATH=$tmp/bin:$PATH CGPIPE_OUT=$tmp/out "$CG_TOP/scripts/cgpipe" source \
		-k "$tmp/k.tar" >"$tmp/log" 2>&1 || rc=$?
	[ "$rc" = 2 ] || {
		warn "harness test: exit $rc, not 2"
		bad=1
	}
	if ! grep -q 'tag refused by the harness test' "$tmp/log" ||
		! grep -q 'the stage stopped there' "$tmp/log" ||
		! grep -q '^    in commit_base (source.sh:' "$tmp/log"; then
		warn "harness test: the failing command and its message are not named"
		bad=1
	fi
	! grep -q 'kernel source:' "$tmp/log" || {
		warn "harness test: the source stage went on past the failing command"
		bad=1
	}
	[ "$bad" = 0 ] || sed 's/^/    /' "$tmp/log" >&2
	rm -rf "$tmp"
	return "$bad"
}

# kcsan_report PAIR FRAME FRAME: a KCSAN report naming PAIR, its access
# stack the two frames.
kcsan_report() {
	printf '%s\n' '==================================================================' \
		"BUG: KCSAN: data-race in $1" '' "write to 0x0 of 4 bytes by task 1 on cpu 1:" \
		" $2+0x10/0x20" " $3+0x10/0x20" '' \
		'=================================================================='
}

# check_kcsan_split: kcsan_split keeps in the console (counted) a report
# naming a cgpipe function, and one whose stack names cgpipe through a
# pair not in qemu/kcsan-known; it moves out one through a known pair and
# one that never names cgpipe.
check_kcsan_split() {
	local tmp bad=0
	tmp=$(mktemp -d)
	{
		echo 'boot'
		kcsan_report 'cgpipe_read / cgpipe_write' cgpipe_write vfs_write
		kcsan_report 'poll_schedule_timeout.constprop.0 / pollwake' pollwake cgpipe_wake_readers
		kcsan_report 'pollwake / poll_schedule_timeout' pollwake __wake_up
		kcsan_report 'copy_page_to_iter / memcpy' copy_page_to_iter cgpipe_read_iter
		echo 'end'
	} >"$tmp/console"
	kcsan_split "$tmp/console" "$tmp/other" >"$tmp/kept"
	if ! { [ "$(grep -c '^BUG: KCSAN' "$tmp/kept")" = 2 ] &&
		grep -q 'in cgpipe_read / cgpipe_write$' "$tmp/kept" &&
		grep -q 'in copy_page_to_iter / memcpy$' "$tmp/kept" &&
		[ "$(grep -c '^BUG: KCSAN: data-race in .*pollwake' "$tmp/other")" = 2 ] &&
		grep -q '^boot$' "$tmp/kept" && grep -q '^end$' "$tmp/kept"; }; then
		warn "harness test: KCSAN reports sorted wrongly"
		sed 's/^/    kept: /' "$tmp/kept" >&2
		sed 's/^/    other: /' "$tmp/other" >&2
		bad=1
	fi
	rm -rf "$tmp"
	return "$bad"
}

# The arches the compile checks build for (all of qemu/, unless set), and
# the ways cgpipe is built in them (m: a module, y: built in; both unless
# set).
PX_ARCHES=
PX_MODES=

# check_tree_builds SRC ARCH [MODES]: the driver and the kselftests of the
# applied tree SRC build warning-free on ARCH (prefix_check_kernel,
# prefix_check_selftests), cgpipe built as MODES (default: m y).
check_tree_builds() {
	local out rc=0
	PX_ARCHES=$2
	PX_MODES=${3:-}
	out=$(prefix_check_kernel "$1" 2>&1) || rc=1
	out=$out$(prefix_check_selftests "$1" 2>&1) || rc=1
	[ "$rc" = 0 ] || printf '%s\n' "$out" | sed -n 1,40p >&2
	return "$rc"
}

# check_prefix_builds SRC: check out each prefix of the series and check
# what its last patch touches (the rest was checked with an earlier
# prefix), on the first arch, cgpipe =m and =y. One result per patch; a
# walk that stopped early fails. Then the whole series on each other
# arch, built in (through sparse too): what a patch does differently per
# arch is the driver's, whose every line the whole series still has.
check_prefix_builds() {
	local px c n=0 files name out rc tests f a built others samples
	local -a arches
	read -r -a arches <<<"$(list_arches)"
	px=$(prefix_tree "$1")
	PX_ARCHES=${arches[0]}
	for c in $(git -C "$1" rev-list --reverse cgpipe-base..cgpipe); do
		n=$((n + 1))
		git -C "$px" checkout -qf --detach "$c" || die "cannot check out $c"
		files=$(git -C "$px" diff-tree --no-commit-id --name-only -r "$c")
		name=$(printf 'patch %02d builds alone' "$n")
		rc=0
		out=
		built=0
		# the driver (and the Kconfig files, which any make reads)
		case "$files" in
		*drivers/char/* | *include/* | *Kconfig*)
			out=$(prefix_check_kernel "$px" 2>&1) || rc=1
			built=1
			;;
		esac
		# the kernel's other C files it changed
		others=$({ grep -E '\.c$' <<<"$files" || true; } |
			{ grep -vE '^(drivers/char/|tools/|samples/|Documentation/)' || true; })
		if [ -n "$others" ]; then
			# shellcheck disable=SC2086 # one word per file
			out=$out$(prefix_check_objects "$px" $others 2>&1) || rc=1
			built=1
		fi
		# the samples it changed, as the suite's programs below
		samples=$({ grep -E '^samples/cgpipe/.*\.c$' <<<"$files" || true; } |
			while read -r f; do
				[ ! -f "$px/$f" ] || printf '%s\n' "$px/$f"
			done)
		if [ -n "$samples" ]; then
			# shellcheck disable=SC2086 # one word per file
			out=$out$(prefix_check_selftests "$px" $samples 2>&1) || rc=1
			built=1
		fi
		# the suite's programs this patch changed, or all of them when
		# what they share (a header, the Makefile, the uapi) changed
		tests=
		case "$files" in
		*tools/testing/selftests/cgpipe/*.h* | *selftests/cgpipe/Makefile* | *include/uapi/*)
			tests=all
			;;
		*tools/testing/selftests/cgpipe/*.c*)
			tests=$({ grep -E '^tools/testing/selftests/cgpipe/.*\.c$' <<<"$files" || true; } |
				while read -r f; do
					[ ! -f "$px/$f" ] || printf '%s\n' "$px/$f"
				done)
			;;
		esac
		if [ "$tests" = all ]; then
			out=$out$(prefix_check_selftests "$px" 2>&1) || rc=1
			built=1
		elif [ -n "$tests" ]; then
			# shellcheck disable=SC2086 # one word per file
			out=$out$(prefix_check_selftests "$px" $tests 2>&1) || rc=1
			built=1
		fi
		[ "$built" = 1 ] || name="$name (nothing in it to compile)"
		if [ "$rc" = 0 ]; then
			printf 'pass %s\n' "$name"
		else
			printf '%s\n' "$out" | sed -n 1,30p >&2
			printf 'fail %s\n' "$name"
		fi
	done
	[ "$n" = "$(series_patches | wc -l)" ] ||
		printf 'fail prefix builds stopped after %d patches\n' "$n"
	for a in "${arches[@]:1}"; do
		rc=0
		check_tree_builds "$px" "$a" y || rc=1
		printf '%s the series builds on %s\n' "$(result_word "$rc")" "$a"
	done
}

# The benchmark's source: built with the suite, run by 'bench' only.
PX_BENCH=tools/testing/selftests/cgpipe/cgpipe_bench.c

# prefix_plan SRC: one line per patch, "N KERNEL RUN" with N its number,
# KERNEL the first patch of its group (consecutive patches that build the
# same kernel: a patch that changes nothing outside tools/testing/selftests,
# Documentation and MAINTAINERS leaves the kernel as it was) and RUN the
# prefix whose suite covers N: the group's last prefix, whose suite is a
# superset of the earlier ones' as long as test files are only added; a
# patch that modifies or deletes an existing test program's source (not
# the benchmark's) ends a run (the prefix before it is run too). A change
# of the suite's config file changes the kernel (it is merged into the
# kernel's). RUN is 0: no suite yet. So a prefix is booted where its patch
# changed the kernel or the tests since the last prefix booted, and a
# patch that changes only documentation or the benchmark is not.
prefix_plan() {
	local c n=0 kernel=0 files
	for c in $(git -C "$1" rev-list --reverse cgpipe-base..cgpipe); do
		n=$((n + 1))
		files=$(git -C "$1" diff-tree --no-commit-id --name-only -r "$c")
		# the suite's config is merged into the kernel's: a kernel change
		if [ "$kernel" = 0 ] ||
			grep -vE '^(tools/testing/selftests/|Documentation/|MAINTAINERS$)' <<<"$files" |
			grep -c . >/dev/null || grep -qx 'tools/testing/selftests/cgpipe/config' <<<"$files"; then
			kernel=$n
		fi
		# a suite is there once the Makefile names a test program
		printf '%d %d %d %d\n' "$n" "$kernel" \
			"$(git -C "$1" show "$c:tools/testing/selftests/cgpipe/Makefile" 2>/dev/null |
				grep -cE '^TEST_GEN_PROGS[[:space:]]*[:+]?=' || true)" \
			"$(git -C "$1" diff-tree --no-commit-id --name-only -r --diff-filter=DMR "$c" \
				-- tools/testing/selftests/cgpipe | grep -vx "$PX_BENCH" |
				grep -cE '\.(c|h|sh)$' || true)"
	done | awk '{ n[NR] = $1; k[NR] = $2; suite[NR] = $3; mod[NR] = $4 }
	END {
		# a prefix is run where its group ends or the next patch changes
		# existing tests; each patch is covered by the next run
		for (i = NR; i >= 1; i--) {
			if (i == NR || k[i + 1] != k[i] || mod[i + 1] > 0)
				run = i
			print n[i], k[i], (suite[run] ? run : 0)
		}
	}' | sort -n
}

# check_litmus SRC: each litmus test the series adds
# (Documentation/litmus-tests/cgpipe/) through herd7 with the kernel's
# memory model; herd7's observation (Never, Sometimes, Always) must be the
# "Result:" the test states. Returns 3 (skip) without herd7 (HERD7 names
# it, default: herd7 in PATH; README.md tells how to build it) or tests.
check_litmus() {
	local src=$1 herd=${HERD7:-herd7} t want got rc=0 n=0
	command -v "$herd" >/dev/null || {
		say "no $herd: the litmus tests are not run (README.md: Memory model)"
		return 3
	}
	for t in "$src"/Documentation/litmus-tests/cgpipe/*.litmus; do
		[ -f "$t" ] || continue
		n=$((n + 1))
		want=$(sed -nE 's/^ \* Result: ([A-Za-z]+)$/\1/p' "$t")
		got=$(cd "$src/tools/memory-model" &&
			"$herd" -conf linux-kernel.cfg "$t" 2>&1 |
			sed -nE 's/^Observation [^ ]+ ([A-Za-z]+) .*/\1/p') || true
		printf '    %s: %s\n' "${t##*/}" "${got:-no observation}" >&2
		if [ -z "$want" ] || [ "$got" != "$want" ]; then
			warn "${t##*/}: herd7 says '${got:-nothing}', the test states '${want:-nothing}'"
			rc=1
		fi
	done
	[ "$n" -gt 0 ] || return 3
	return "$rc"
}

# check_kunit SRC: cgpipe's KUnit suite through kunit.py, with the
# kunitconfig the series ships (drivers/char/cgpipe/.kunitconfig, or
# drivers/char/cgpipe.kunitconfig before the driver was split); the arch
# and the options kunit.py gets come from qemu/kunit.vars. Returns 0 pass,
# 1 fail, 3 no kunitconfig.
check_kunit() {
	local src=$1 kc=drivers/char/cgpipe.kunitconfig log
	local KUNIT_ARCH KUNIT_ARGS
	[ -f "$src/drivers/char/cgpipe/.kunitconfig" ] && kc=drivers/char/cgpipe
	[ -e "$src/$kc" ] || {
		say "no kunitconfig in this series ($kc)"
		return 3
	}
	# shellcheck source=SCRIPTDIR/../qemu/kunit.vars
	. "$CG_TOP/qemu/kunit.vars"
	log=$CG_OUT/kunit-${src##*/}-$KUNIT_ARCH.log
	mkdir -p "$CG_OUT"
	# shellcheck disable=SC2086 # KUNIT_ARGS holds several words
	if (cd "$src" && ./tools/testing/kunit/kunit.py run --kunitconfig="$kc" \
		--build_dir="$CG_OUT/kunit-${src##*/}-$KUNIT_ARCH" --jobs="$CG_JOBS" \
		$KUNIT_ARGS) >"$log" 2>&1; then
		tail -n 3 "$log" >&2
		return 0
	fi
	tail -n 30 "$log" >&2
	return 1
}

