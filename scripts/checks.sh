# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# The series checks. Each check_* function takes the applied tree (SRC)
# and what else it needs as arguments; a check with one result returns
# 0 (pass) or 1 (fail), a check with several prints one line per result,
# "pass NAME", "fail NAME" or "skip NAME", and the diagnostics on stderr.
# Sourced by scripts/cgpipe after lib.sh, series.sh and guest.sh.

# check_shellcheck: shellcheck -x of the harness.
check_shellcheck() {
	shellcheck -x "$CG_TOP"/scripts/cgpipe "$CG_TOP"/scripts/*.sh \
		"$CG_TOP"/selftests/init "$CG_TOP"/selftests/timeout "$CG_TOP"/.ci/run >&2
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
# each. New files are checked against MAINTAINERS by check_maintainers.
check_checkpatch() {
	local p out rc path
	path=$(checkpatch_path) || exit 2
	while read -r p; do
		rc=0
		out=$(cd "$1" && PATH=$path ./scripts/checkpatch.pl --strict --quiet \
			--ignore FILE_PATH_CHANGES "$p" 2>&1) || rc=$?
		if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
			printf 'pass checkpatch %s\n' "${p##*/}"
		else
			printf '%s\n' "$out" >&2
			printf 'fail checkpatch %s\n' "${p##*/}"
		fi
	done <<EOF
$(series_patches)
EOF
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

# check_quilt SRC: quilt push -a of patches/ and series onto the base, in
# the prefix worktree; on v6.8 without fuzz. Leaves the worktree at the base.
check_quilt() {
	local out rc=0 PX_TREE
	PX_TREE=$(prefix_tree "$1")
	git -C "$PX_TREE" checkout -qf --detach cgpipe-base
	git -C "$PX_TREE" clean -fdxq
	out=$(cd "$PX_TREE" && QUILT_PATCHES=$CG_TOP/patches QUILT_SERIES=$CG_TOP/series \
		quilt push -a 2>&1) || rc=1
	if [ "$rc" = 0 ] && printf '%s\n' "$out" | grep -q 'with fuzz'; then
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

# prefix_build PX ARCH: the O= dir for the compile checks of the prefixes
# of PX on ARCH, one per arch: cgpipe is built as a module and in (the
# config flips CONFIG_CGPIPE, which rebuilds cgpipe's objects only).
prefix_build() { printf '%s\n' "$CG_OUT/prefix/${1##*/}-build-$2"; }

# prefix_make PX ARCH ARGS...: make in the worktree PX for that arch.
prefix_make() {
	local px=$1 arch=$2
	shift 2
	load_arch "$arch"
	kmake "$px" "$(prefix_build "$px" "$arch")" -s "$@"
}

# prefix_config PX ARCH Y|M: tinyconfig plus what cgpipe needs, with
# modules, made once; then CONFIG_CGPIPE=Y|M.
prefix_config() {
	local px=$1 arch=$2 val=$3 build frag
	build=$(prefix_build "$px" "$arch")
	mkdir -p "$build"
	if [ ! -f "$build/.config" ]; then
		frag=$build.fragment
		{
			cat "$CG_TOP/qemu/common.config" "$CG_TOP/Kconfig.fragment"
			printf 'CONFIG_MODULES=y\n'
		} >"$frag"
		prefix_make "$px" "$arch" tinyconfig >/dev/null &&
			"$px/scripts/kconfig/merge_config.sh" -m -O "$build" \
				"$build/.config" "$frag" >/dev/null || return 1
	fi
	"$px/scripts/config" --file "$build/.config" --set-val CGPIPE "$val" &&
		prefix_make "$px" "$arch" olddefconfig >/dev/null &&
		grep -qx "CONFIG_CGPIPE=$val" "$build/.config"
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

# prefix_check_kernel PX: the driver objects of the checked-out prefix, on
# every arch, as a module and built in, W=1 and C=2 (sparse), warning-free;
# and kernel-doc of its sources. Prints what it found; returns 1 on any.
prefix_check_kernel() {
	local px=$1 a v out f rc=0 objs
	objs=$(cgpipe_objects "$px")
	for a in $(list_arches); do
		for v in m y; do
			prefix_config "$px" "$a" "$v" || {
				printf '%s: cannot configure CONFIG_CGPIPE=%s\n' "$a" "$v"
				return 1
			}
			# C=2 also checks what prepare rebuilds (an arm64 vdso file
			# warns on 6.12): only our files' warnings count
			if ! out=$(prefix_make "$px" "$a" W=1 C=2 "$objs" 2>&1) ||
				printf '%s\n' "$out" | grep -E 'warning|error' | grep -q cgpipe; then
				printf '%s: CONFIG_CGPIPE=%s:\n%s\n' "$a" "$v" "$out"
				rc=1
			fi
		done
	done
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

# prefix_check_selftests PX: the kselftests of the checked-out prefix
# compile without warnings for every arch, against its own uapi headers.
prefix_check_selftests() {
	local px=$1 a f out rc=0 build
	for a in $(list_arches); do
		build=$(prefix_build "$px" "$a")
		[ -f "$build/.config" ] || prefix_config "$px" "$a" y || return 1
		prefix_make "$px" "$a" headers >/dev/null 2>&1 || return 1
		for f in "$px"/tools/testing/selftests/cgpipe/*.c; do
			out=$("${CROSS_COMPILE}gcc" -Wall -O2 -fsyntax-only \
				-isystem "$build/usr/include" \
				-I "$px/tools/testing/selftests" "$f" 2>&1) || rc=1
			[ -z "$out" ] || {
				printf '%s %s:\n%s\n' "$a" "${f##*/}" "$out"
				rc=1
			}
		done
	done
	return "$rc"
}

# check_prefix_builds SRC: check out each prefix of the series and check
# what its last patch touches (the rest was checked with an earlier
# prefix). One result per patch; a walk that stopped early fails.
check_prefix_builds() {
	local px c n=0 files name out rc
	px=$(prefix_tree "$1")
	for c in $(git -C "$1" rev-list --reverse cgpipe-base..cgpipe); do
		n=$((n + 1))
		git -C "$px" checkout -qf --detach "$c" || die "cannot check out $c"
		files=$(git -C "$px" diff-tree --no-commit-id --name-only -r "$c")
		name=$(printf 'patch %02d builds alone' "$n")
		rc=0
		out=
		case "$files" in
		*drivers/char/* | *include/*)
			out=$(prefix_check_kernel "$px" 2>&1) || rc=1
			;;
		esac
		case "$files" in
		*tools/testing/selftests/*)
			out=$out$(prefix_check_selftests "$px" 2>&1) || rc=1
			;;
		esac
		if [ "$rc" = 0 ]; then
			printf 'pass %s\n' "$name"
		else
			printf '%s\n' "$out" | head -n 30 >&2
			printf 'fail %s\n' "$name"
		fi
	done
	[ "$n" = "$(series_patches | wc -l)" ] ||
		printf 'fail prefix builds stopped after %d patches\n' "$n"
}

# prefix_plan SRC: one line per patch, "N KERNEL RUN" with N its number,
# KERNEL the first patch of its group (consecutive patches that build the
# same kernel: a patch that changes nothing outside tools/testing/selftests,
# Documentation and MAINTAINERS leaves the kernel as it was) and RUN the prefix whose
# suite covers N: the group's last prefix, whose suite is a superset of the
# earlier ones' as long as test files are only added; a patch that modifies
# or deletes an existing test program's source ends a run (the prefix
# before it is run too). A change of the suite's config file changes the
# kernel (it is merged into the kernel's). RUN is 0: no suite yet.
prefix_plan() {
	local c n=0 kernel=0 files
	for c in $(git -C "$1" rev-list --reverse cgpipe-base..cgpipe); do
		n=$((n + 1))
		files=$(git -C "$1" diff-tree --no-commit-id --name-only -r "$c")
		# the suite's config is merged into the kernel's: a kernel change
		if [ "$kernel" = 0 ] || printf '%s\n' "$files" |
			grep -vE '^(tools/testing/selftests/|Documentation/|MAINTAINERS$)' |
			grep -q . || printf '%s\n' "$files" | grep -qx 'tools/testing/selftests/cgpipe/config'; then
			kernel=$n
		fi
		# a suite is there once the Makefile names a test program
		printf '%d %d %d %d\n' "$n" "$kernel" \
			"$(git -C "$1" show "$c:tools/testing/selftests/cgpipe/Makefile" 2>/dev/null |
				grep -cE '^TEST_GEN_PROGS[[:space:]]*[:+]?=' || true)" \
			"$(git -C "$1" diff-tree --no-commit-id --name-only -r --diff-filter=DMR "$c" \
				-- tools/testing/selftests/cgpipe | grep -cE '\.(c|h|sh)$' || true)"
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

# prefix_boot_wait DIR: wait for the prefix boot started in DIR (if any);
# its result is in DIR/result.
prefix_boot_wait() {
	[ -n "${PX_BOOT_PID:-}" ] || return 0
	wait "$PX_BOOT_PID" || true
	cat "$1/boot.log" >&2
	PX_BOOT_PID=
}

# check_prefix_suites SRC ACCEL TIMEOUT LAST: the suite at each prefix of
# the series, on arm64 (normal flavour), one result per patch, booting
# each kernel once (prefix_plan). The full series is what the arm64 run
# boots: LAST is that run's result (pass|fail), or empty to run it here
# (run_guest). The other kernels are built in a build directory of their
# own from the prefix worktree, incrementally from one to the next; each
# boots (from a copy of its kernel and initramfs) while the next builds.
check_prefix_suites() {
	local src=$1 accel=$2 timeout=$3 last=$4 px build plan total
	local n k r c lbl rundir prev=
	PX_BOOT_PID=
	px=$(prefix_tree "$src")
	build=$CG_OUT/prefix/${src##*/}-suite-arm64
	plan=$(prefix_plan "$src")
	total=$(printf '%s\n' "$plan" | wc -l)
	load_arch arm64
	for r in $(printf '%s\n' "$plan" | awk '$3 > 0 { print $3 }' | sort -nu); do
		rundir=$CG_OUT/prefix/${src##*/}-suite-run/$(printf 'patch-%02d' "$r")
		rm -rf "$rundir"
		mkdir -p "$rundir/boot"
		if [ "$r" = "$total" ]; then
			prefix_boot_wait "$prev"
			if [ -z "$last" ]; then
				last=fail
				run_guest arm64 normal "$src" "$accel" "$timeout" "" >&2 && last=pass
			fi
			echo "$last" >"$rundir/result"
			continue
		fi
		echo fail >"$rundir/result"
		c=$(git -C "$src" rev-list --reverse cgpipe-base..cgpipe | sed -n "${r}p")
		git -C "$px" checkout -qf --detach "$c" || die "cannot check out $c"
		lbl=$(printf 'arm64, prefix %02d' "$r")
		if ! in_subshell build_all arm64 normal "$px" "$build" >&2; then
			warn "$lbl: build failed"
			continue
		fi
		# boot a copy: the build directory moves on to the next prefix
		mkdir -p "$rundir/boot/${KIMAGE%/*}"
		cp "$build/$KIMAGE" "$rundir/boot/$KIMAGE"
		cp "$build/initramfs.cpio" "$rundir/boot/"
		prefix_boot_wait "$prev"
		(
			in_subshell guest_boot arm64 "$rundir/boot" "$rundir" "$lbl" "$accel" "$timeout" "" &&
				echo pass >"$rundir/result"
			say "$lbl: $(cat "$rundir/verdict" 2>/dev/null || echo no verdict)"
		) >"$rundir/boot.log" 2>&1 &
		PX_BOOT_PID=$!
		prev=$rundir
	done
	prefix_boot_wait "$prev"
	while read -r n k r; do
		rundir=$CG_OUT/prefix/${src##*/}-suite-run/$(printf 'patch-%02d' "$r")
		if [ "$r" = 0 ]; then
			printf 'skip patch %02d suite (arm64): builds, no suite yet\n' "$n"
		elif [ "$r" = "$total" ]; then
			printf '%s patch %02d suite (arm64, kernel of patch %02d): same as the arm64 run\n' \
				"$(cat "$rundir/result")" "$n" "$k"
		else
			printf '%s patch %02d suite (arm64, kernel of patch %02d%s)\n' "$(cat "$rundir/result")" "$n" "$k" \
				"$([ "$r" = "$n" ] || printf ', suite of patch %02d' "$r")"
		fi
	done <<EOF
$plan
EOF
	git -C "$px" checkout -qf --detach cgpipe-base
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

