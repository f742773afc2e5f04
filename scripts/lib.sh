# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Helpers shared by every cgpipe script. Source it; it changes nothing by itself.
#
# Exit codes used throughout: 0 everything passed, 1 a test failed,
# 2 no trustworthy verdict (bad usage, missing tools, build, boot, timeout).
# shellcheck disable=SC2034 # the variables set here are for the sourcing scripts

CG_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CG_OUT=${CGPIPE_OUT:-$CG_TOP/out}
CG_CACHE=${CGPIPE_CACHE:-$CG_OUT/cache}
CG_JOBS=${CGPIPE_JOBS:-$(nproc)}

# Upstream facts the series is based on.
V68_TARBALL=linux-6.8.tar.xz
V68_URL=https://cdn.kernel.org/pub/linux/kernel/v6.x/$V68_TARBALL
V68_SHA256=c969dea4e8bb6be991bbf7c010ba0e0a5643a3a8d8fb0a2aaa053406f1e965f3
V68_COMMIT=e8f897f4afef0031fe618a8e94127a0934896aba

# Identity for commits the harness makes in its own scratch trees.
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-cgpipe harness}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-cgpipe@localhost}
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-$GIT_COMMITTER_NAME}
export GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-$GIT_COMMITTER_EMAIL}

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() {
	printf 'ERROR: %s\n' "$*" >&2
	exit 2
}

# lock_out: one run at a time per output directory (CG_OUT): two would
# check out, configure and build in the same trees and directories under
# each other. The lock goes with the last process holding fd 9.
lock_out() {
	mkdir -p "$CG_OUT"
	exec 9>"$CG_OUT/.lock"
	flock -n 9 ||
		die "another scripts/cgpipe run uses $CG_OUT (wait for it, or set CGPIPE_OUT to another directory)"
}

# banner LINE...: a message nobody can miss.
banner() {
	local line
	printf '%s\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!' >&2
	for line in "$@"; do
		printf '!!! %s\n' "$line" >&2
	done
	printf '%s\n' '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!' >&2
}

have() { command -v "$1" >/dev/null 2>&1; }

# hash_of FILE|STRING...: a short digest of the files' contents and the strings.
hash_of() {
	local x
	for x in "$@"; do
		if [ -f "$x" ]; then
			printf '%s\n' "$x"
			cat "$x"
		else
			printf '%s\n' "$x"
		fi
	done | sha256sum | cut -c1-16
}

# stamp_ok FILE KEY: true when FILE records KEY (a stage already done).
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
stamp_set() { printf '%s\n' "$2" >"$1"; }

# counts_of "N passed, N failed, N skipped": prints "N N N" (0 0 0 if malformed).
counts_of() {
	printf '%s\n' "$1" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' |
		grep . || echo 0 0 0
}

# series_patches: the patch files of the series, in order, as absolute paths.
series_patches() {
	local p
	while read -r p; do
		case "$p" in '' | '#'*) continue ;; esac
		printf '%s\n' "$CG_TOP/patches/$p"
	done <"$CG_TOP/series"
}

# load_arch ARCH: read qemu/ARCH.conf and derive the cross compiler.
load_arch() {
	local conf=$CG_TOP/qemu/$1.conf
	[ -f "$conf" ] || die "unknown arch '$1' (have: $(list_arches))"
	# shellcheck source=SCRIPTDIR/../qemu/arm64.conf
	. "$conf"
	CG_ARCH=$1
	if [ "$(uname -m)" = "$UNAME_M" ]; then
		CROSS_COMPILE=
	else
		CROSS_COMPILE=$TRIPLET-
	fi
}

list_arches() {
	local f names=
	for f in "$CG_TOP"/qemu/*.conf; do
		f=${f##*/}
		names="$names ${f%.conf}"
	done
	printf '%s\n' "${names# }"
}

# need_pkgs PKG...: install missing Debian packages when root, else explain.
need_pkgs() {
	local p missing=
	for p in "$@"; do
		grep -q 'ok installed' < <(dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null) ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		die "missing packages:$missing (sudo apt-get install$missing)"
	fi
	say "installing:$missing"
	# shellcheck disable=SC2086 # one word per package
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2; then
		apt-get update -q >&2 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2 ||
			die "apt-get install$missing failed"
	fi
}

# host_deps [ARCH...]: everything the harness needs for these guests.
host_deps() {
	local pkgs a
	pkgs=$(grep -v '^#' "$CG_TOP/scripts/host-packages" | tr '\n' ' ')
	for a in "$@"; do
		load_arch "$a"
		pkgs="$pkgs $QEMU_PKG"
		[ -n "$CROSS_COMPILE" ] && pkgs="$pkgs $CROSS_PKG"
	done
	# shellcheck disable=SC2086 # word splitting wanted
	need_pkgs $pkgs
}

# kmake SRC BUILD ARGS...: make in the kernel source SRC for the loaded arch,
# O=BUILD. Through ccache when installed, in its depend mode (unless
# CCACHE_DEPEND says otherwise): it keys an object on the dependency file
# the kernel's build writes anyway instead of running the preprocessor a
# second time, which made a build with an empty cache a third slower.
kmake() {
	local src=$1 build=$2 cc=${CROSS_COMPILE}gcc
	shift 2
	have ccache && cc="ccache $cc"
	CCACHE_DEPEND=${CCACHE_DEPEND:-1} make -C "$src" O="$build" ARCH="$KARCH" \
		CROSS_COMPILE="$CROSS_COMPILE" CC="$cc" -j"$CG_JOBS" "$@"
}

# stage FN ARGS...: run the function FN in a bash process of its own, in
# strict mode (stage_main), and return its status: 0 passed, 1 failed,
# 2 no verdict, 3 skipped. A process, not a subshell: bash ignores set -e
# in a function called from a condition (FN || ..., if FN) and in every
# subshell of one, so that a failing command there would not stop FN.
stage() { bash "$CG_TOP/scripts/cgpipe" --stage "$@"; }

# stage_main FN ARGS...: the body of a stage process. Every command that
# fails outside a condition ends the stage: stage_failed names it (the
# command prints its own message) and the stage exits 2. FN's own status
# is the process's: FN returns a verdict with return, or with "CMD ||
# return" where that verdict is CMD's (a failing last command is a
# failing command like any other).
stage_main() {
	set -eEuo pipefail
	shopt -s inherit_errexit
	trap 'stage_failed $? "$BASH_COMMAND" "$LINENO"' ERR
	"$@"
}

# stage_failed STATUS COMMAND LINE: the ERR trap of a stage: names the
# command that failed and where (the functions it ran in, innermost
# first), and ends the stage with exit 2. FN's own status passes through;
# a failure already reported in a subshell (199) is not reported again.
stage_failed() {
	local sub=$(((BASH_SUBSHELL > 0) ? 199 : 2)) i line=$3
	[ "${FUNCNAME[1]}" != stage_main ] || exit "$1"
	[ "$1" != 199 ] || exit "$sub"
	printf 'ERROR: "%s" failed (exit %d); the stage stopped there:\n' "$2" "$1" >&2
	for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
		[ "${FUNCNAME[$i]}" != stage_main ] || break
		printf '    in %s (%s:%s)\n' "${FUNCNAME[$i]}" "${BASH_SOURCE[$i]##*/}" "$line" >&2
		line=${BASH_LINENO[$i]}
	done
	exit "$sub"
}

# result_word STATUS: a stage's status as a result: pass (0), fail (1),
# skip (3), or infra (no verdict).
result_word() {
	case "$1" in
	0) echo pass ;;
	1) echo fail ;;
	3) echo skip ;;
	*) echo infra ;;
	esac
}

# elapsed START: the time since START (a $SECONDS value) as 1m05s.
elapsed() {
	local d=$((SECONDS - $1))
	printf '%dm%02ds' $((d / 60)) $((d % 60))
}
