# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest (kernel, kselftests, initramfs), boot it, read its verdict.
# Sourced by scripts/cgpipe after lib.sh and series.sh. Per-arch facts come
# from qemu/ARCH.conf through load_arch.

# What in a kernel log means the kernel misbehaved during the run.
SPLAT_RE='BUG:|WARNING:|KASAN:|UBSAN:|Oops|general protection fault|Unable to handle kernel|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|unreferenced object|Kernel panic'

# config_wanted FRAGMENT...: the requested lines, the last one of each
# symbol only (a later fragment overrides, as in merge_config.sh).
config_wanted() {
	awk '{ sym = $0; sub(/^# /, "", sym); sub(/[= ].*/, "", sym) }
	sym ~ /^CONFIG_/ {
		if (!(sym in last))
			order[++n] = sym
		last[sym] = $0
	}
	END { for (i = 1; i <= n; i++) print last[order[i]] }' "$@"
}

# A guest is an arch and a flavour: normal, or one with a config fragment
# qemu/FLAVOUR.config (debug). Each has its own directories.
# build_dir ARCH FLAVOUR SRC: its O= dir, out/build/ARCH-BASE[-FLAVOUR].
# run_dir ARCH FLAVOUR SRC: where its runs are kept, out/run/ARCH-BASE[-FLAVOUR].
# label ARCH FLAVOUR: how messages name it: arm64, arm64 (debug).
flavour_suffix() { [ "$1" = normal ] || printf -- '-%s' "$1"; }
build_dir() { printf '%s\n' "$CG_OUT/build/$1-${3##*/}$(flavour_suffix "$2")"; }
run_dir() { printf '%s\n' "$CG_OUT/run/$1-${3##*/}$(flavour_suffix "$2")"; }
label() {
	case "$2" in
	normal) printf '%s\n' "$1" ;;
	*) printf '%s (%s)\n' "$1" "$2" ;;
	esac
}

# config_fragments ARCH FLAVOUR SRC: what build_config merges, in order.
config_fragments() {
	printf '%s\n' "$CG_TOP/qemu/common.config" "$CG_TOP/qemu/$1.config" \
		"$CG_TOP/Kconfig.fragment"
	[ -f "$3/tools/testing/selftests/cgpipe/config" ] &&
		printf '%s\n' "$3/tools/testing/selftests/cgpipe/config"
	[ "$2" = normal ] || printf '%s\n' "$CG_TOP/qemu/$2.config"
}

# config_verify BUILD LABEL FRAGMENT...: every requested line must be in
# BUILD/.config; merge_config.sh drops options with unmet dependencies
# without failing.
config_verify() {
	local build=$1 lbl=$2 line sym missing=
	shift 2
	while read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$build/.config" || missing="$missing $line"
			;;
		'# CONFIG_'*' is not set')
			sym=${line#\# }
			sym=${sym%% *}
			grep -q "^$sym=" "$build/.config" && missing="$missing $sym=n"
			;;
		esac
	done <<EOF
$(config_wanted "$@")
EOF
	[ -z "$missing" ] ||
		die "$lbl: kconfig dropped requested options (unmet dependencies?):$missing"
}

# build_config ARCH FLAVOUR SRC BUILD [FRAGMENT...]: tinyconfig plus the
# fragments of that arch and flavour, then the extra FRAGMENTs, in BUILD.
build_config() {
	local arch=$1 flavour=$2 src=$3 build=$4 key lbl log=$4/config.log
	local -a frags
	shift 4
	lbl=$(label "$arch" "$flavour")
	load_arch "$arch"
	mkdir -p "$build"
	mapfile -t frags < <(config_fragments "$arch" "$flavour" "$src")
	frags+=("$@")
	# and the tree's Kconfig files: a series (or a prefix of it) with other
	# options is configured again, one with the same options is not
	key=$(hash_of "${frags[@]}" "$CROSS_COMPILE" "$(git -C "$src" ls-files -s -- '*Kconfig*')")
	stamp_ok "$build/.cgpipe-config" "$key" && return 0
	say "$lbl: configuring: tinyconfig + $(printf '%s\n' "${frags[@]}" | sed "s|^$src/||; s|^$CG_TOP/||" | tr '\n' ' ')"
	kmake "$src" "$build" tinyconfig >"$log" 2>&1 || die "$lbl: tinyconfig failed (see $log)"
	"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" "${frags[@]}" >>"$log" 2>&1 ||
		die "$lbl: merge_config.sh failed (see $log)"
	kmake "$src" "$build" olddefconfig >>"$log" 2>&1 || die "$lbl: olddefconfig failed (see $log)"
	config_verify "$build" "$lbl" "${frags[@]}"
	stamp_set "$build/.cgpipe-config" "$key"
}

# build_kernel ARCH SRC BUILD LABEL: the kernel image (and the modules).
build_kernel() {
	local src=$2 build=$3 lbl=$4 log=$3/build.log
	load_arch "$1"
	say "$lbl: building $KTARGET in $build (log: $log)"
	if ! kmake "$src" "$build" "$KTARGET" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "$lbl: kernel build failed (see $log)"
	fi
	if grep -q '^CONFIG_MODULES=y' "$build/.config" &&
		! kmake "$src" "$build" modules >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "$lbl: module build failed (see $log)"
	fi
	grep -E 'warning:|error:' "$log" >&2 || true
}

# cgpipe_module BUILD: the cgpipe.ko of that build, if cgpipe is a module
# (in drivers/char/cgpipe/ once the driver is split, drivers/char/ before).
cgpipe_module() {
	local ko
	grep -q '^CONFIG_CGPIPE=m' "$1/.config" 2>/dev/null || return 1
	for ko in "$1/drivers/char/cgpipe/cgpipe.ko" "$1/drivers/char/cgpipe.ko"; do
		if [ -f "$ko" ]; then
			printf '%s\n' "$ko"
			return 0
		fi
	done
	return 1
}

# kselftest_dir ARCH SRC: where the kselftests of the tree SRC are built
# for ARCH, once for every flavour (they do not depend on the kernel's
# configuration): an O= directory with the uapi headers and the suite,
# out/build/ARCH-BASE-kselftest.
kselftest_dir() { printf '%s\n' "$CG_OUT/build/$1-${2##*/}-kselftest"; }

# build_kselftests ARCH SRC BUILD LABEL: the cgpipe kselftests, static, in
# kselftest_dir's kselftest/kselftest_install (emptied first: a program
# that the source no longer has must not stay); the log in BUILD.
build_kselftests() {
	local src=$2 log=$3/kselftest.log ks
	load_arch "$1"
	ks=$(kselftest_dir "$1" "$src")
	say "$4: building the kselftests (static; in $ks, shared by the flavours)"
	mkdir -p "$ks"
	rm -rf "$ks/kselftest/kselftest_install"
	if ! { kmake "$src" "$ks" headers &&
		kmake "$src/tools/testing/selftests" "$ks" TARGETS=cgpipe \
			USERLDFLAGS=-static install; } >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "$4: kselftest build failed (see $log)"
	fi
	[ -x "$ks/kselftest/kselftest_install/run_kselftest.sh" ] ||
		die "$4: no run_kselftest.sh in $ks/kselftest/kselftest_install"
}

# guest_busybox ARCH: a static busybox for the guest arch, from Debian's
# busybox-static (through multiarch for a foreign arch); prints its path.
guest_busybox() {
	local dir tmp bb
	load_arch "$1"
	dir=$CG_CACHE/busybox-$DEB_ARCH
	bb=$dir/bin/busybox
	if [ ! -x "$bb" ] && [ "$(dpkg --print-architecture)" = "$DEB_ARCH" ]; then
		need_pkgs busybox-static
		mkdir -p "$dir/bin"
		cp /bin/busybox "$bb"
	fi
	if [ -x "$bb" ]; then
		printf '%s\n' "$bb"
		return 0
	fi
	if ! grep -qx "$DEB_ARCH" < <(dpkg --print-foreign-architectures); then
		[ "$(id -u)" = 0 ] || die "need multiarch $DEB_ARCH: sudo dpkg --add-architecture $DEB_ARCH && sudo apt-get update"
		dpkg --add-architecture "$DEB_ARCH"
		apt-get update -q >&2 || die "apt-get update failed"
	fi
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q "busybox-static:$DEB_ARCH" >&2) ||
		die "cannot download busybox-static:$DEB_ARCH"
	dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/x"
	mkdir -p "$dir/bin"
	cp "$tmp/x/bin/busybox" "$bb"
	rm -rf "$tmp"
	printf '%s\n' "$bb"
}
# initramfs_list BUILD BUSYBOX KSELFTESTS: the gen_init_cpio description
# of the guest's root.
initramfs_list() {
	local ks=$3/kselftest/kselftest_install d p ko
	printf 'nod /dev/console 0600 0 0 c 5 1\n'
	for d in /dev /proc /sys /tmp /root /etc /etc/cgpipe /bin /sbin /usr \
		/usr/bin /usr/sbin /kselftest; do
		printf 'dir %s 0755 0 0\n' "$d"
	done | sort
	printf 'file /init %s 0755 0 0\n' "$CG_TOP/selftests/init"
	printf 'file /bin/busybox %s 0755 0 0\n' "$2"
	printf 'file /usr/bin/timeout %s 0755 0 0\n' "$CG_TOP/selftests/timeout"
	printf 'file /etc/cgpipe/verdict.awk %s 0644 0 0\n' "$CG_TOP/selftests/verdict.awk"
	if ko=$(cgpipe_module "$1"); then
		printf 'dir /lib 0755 0 0\ndir /lib/modules 0755 0 0\n'
		printf 'file /lib/modules/cgpipe.ko %s 0644 0 0\n' "$ko"
	fi
	(cd "$ks" && find . -mindepth 1 | sort) | while read -r p; do
		p=${p#./}
		if [ -L "$ks/$p" ]; then
			printf 'slink /kselftest/%s %s 0777 0 0\n' "$p" "$(readlink "$ks/$p")"
		elif [ -d "$ks/$p" ]; then
			printf 'dir /kselftest/%s 0755 0 0\n' "$p"
		else
			printf 'file /kselftest/%s %s %s 0 0\n' "$p" "$ks/$p" "$(stat -c %a "$ks/$p")"
		fi
	done
	# the mapped ring's samples, which map_test and producer_test run,
	# where the kernel has them (not before the series adds them)
	[ -d "$1/samples/cgpipe" ] || return 0
	find "$1/samples/cgpipe" -maxdepth 1 -type f -name 'cgpipe-*' \
		-perm -u+x | sort | while read -r s; do
		printf 'file /kselftest/cgpipe/%s %s 0755 0 0\n' "${s##*/}" "$s"
	done
}

# build_initramfs ARCH SRC BUILD LABEL: BUILD/initramfs.cpio.
build_initramfs() {
	local src=$2 build=$3 lbl=$4 gen=$CG_OUT/tools/gen_init_cpio bb
	bb=$(guest_busybox "$1") || exit 2
	if [ ! -x "$gen" ] || [ "$src/usr/gen_init_cpio.c" -nt "$gen" ]; then
		mkdir -p "${gen%/*}"
		cc -O2 -o "$gen" "$src/usr/gen_init_cpio.c" || die "cannot build gen_init_cpio"
	fi
	initramfs_list "$build" "$bb" "$(kselftest_dir "$1" "$src")" >"$build/initramfs.list"
	"$gen" "$build/initramfs.list" >"$build/initramfs.cpio" ||
		die "$lbl: gen_init_cpio failed"
	say "$lbl: initramfs $build/initramfs.cpio"
}

# build_all ARCH FLAVOUR SRC BUILD [FRAGMENT...]: configure, build the
# kernel and the kselftests, pack the initramfs.
build_all() {
	local lbl
	lbl=$(label "$1" "$2")
	build_config "$@"
	build_kernel "$1" "$3" "$4" "$lbl"
	build_kselftests "$1" "$3" "$4" "$lbl"
	build_initramfs "$1" "$3" "$4" "$lbl"
}

# qemu_args ARCH BUILD ACCEL ICOUNT APPEND: set QEMU_ARGS to boot the
# kernel and initramfs of BUILD with the kernel command line APPEND;
# ICOUNT 1: -icount (repeatable timing, for the benchmark).
qemu_args() {
	local build=$2 accel=$3 icount=$4
	load_arch "$1"
	if [ ! -f "$build/$KIMAGE" ] || [ ! -f "$build/initramfs.cpio" ]; then
		die "$1: nothing built in $build (run 'scripts/cgpipe build')"
	fi
	# shellcheck disable=SC2206 # QEMU_MACHINE holds several words
	QEMU_ARGS=("$QEMU_BIN" $QEMU_MACHINE -smp 2 -m 1024 -no-reboot
		-kernel "$build/$KIMAGE" -initrd "$build/initramfs.cpio"
		-append "console=$CONSOLE panic=-1 $5")
	if [ "$icount" = 1 ]; then
		# the guest clock counts guest instructions: repeatable timing
		[ "$accel" = tcg ] || die "-icount needs --accel tcg"
		QEMU_ARGS+=(-accel "tcg,thread=single" -icount "shift=0,sleep=off")
	elif [ "$accel" = kvm ]; then
		[ "$(uname -m)" = "$UNAME_M" ] || die "--accel kvm needs an $UNAME_M host"
		[ -w /dev/kvm ] || die "--accel kvm: /dev/kvm is not usable"
		QEMU_ARGS+=(-accel kvm)
	else
		QEMU_ARGS+=(-accel tcg)
	fi
}

# guest_selection TESTS: the kernel command line word for the programs to
# run (comma-separated names), if any.
guest_selection() { printf '%s' "${1:+ cgtest.tests=$1}"; }

# guest_interactive ARCH BUILD ACCEL MODE GDB TESTS: boot on the terminal,
# no watchdog; MODE shell or run; GDB 1: QEMU waits for gdb on :1234.
guest_interactive() {
	qemu_args "$1" "$2" "$3" 0 "cgtest.mode=$4$(guest_selection "$6")"
	QEMU_ARGS+=(-nographic)
	if [ "$5" = 1 ]; then
		QEMU_ARGS+=(-s -S)
		say "QEMU waits for gdb: ${CROSS_COMPILE:-}gdb $2/vmlinux -ex 'target remote :1234'"
	fi
	"${QEMU_ARGS[@]}"
}

# qemu_watched LOG TIMEOUT: run QEMU_ARGS headless under the watchdog, the
# console into LOG; returns QEMU's status (124: the watchdog expired).
qemu_watched() {
	local rc=0
	timeout -k 10 "$2" "${QEMU_ARGS[@]}" -display none -monitor none \
		-serial stdio </dev/null >"$1" 2>&1 || rc=$?
	return "$rc"
}

# guest_boot ARCH BUILD RUNDIR LABEL ACCEL TIMEOUT TESTS: boot the suite
# (TESTS: only these programs) under the watchdog, keep the console in
# RUNDIR, judge it (guest_verdict). The console is printed when the guest
# is done, not while it runs, so that boots can run beside other stages.
guest_boot() {
	local rundir=$3 lbl=$4 rc=0 log=$3/console.log
	mkdir -p "$rundir"
	rm -f "$rundir/verdict"
	qemu_args "$1" "$2" "$5" 0 "cgtest.mode=run$(guest_selection "$7")"
	say "$lbl: booting (watchdog ${6}s, console: $log)"
	qemu_watched "$log" "$6" || rc=$?
	# its status is the stage's: a verdict, not a failing command
	guest_verdict "$log" "$rc" "$rundir" "$lbl" "$6" || return
}

# guest_bench ARCH BUILD RUNDIR LABEL TIMEOUT BENCH_ARGS: boot into
# cgpipe_bench with -icount, keep the console, write bench.csv and print
# the figures with their ratios (bench.awk).
guest_bench() {
	local rundir=$3 lbl=$4 rc=0 log=$3/bench-console.log csv=$3/bench.csv version
	mkdir -p "$rundir"
	qemu_args "$1" "$2" tcg 1 "cgtest.mode=bench${6:+ cgtest.bench=$6}"
	say "$lbl: benchmark, -icount (console: $log)"
	qemu_watched "$log" "$5" || rc=$?
	if ! tr -d '\r' <"$log" | grep -c '^CGPIPE-BENCH-END: 0$' >/dev/null; then
		sed -n '/^CGPIPE-BENCH-BEGIN$/,$p' "$log" | tail -n 20 >&2
		warn "$lbl: the benchmark did not finish (qemu exit $rc; console: $log)"
		return 2
	fi
	tr -d '\r' <"$log" | sed -n '/^CSV-BEGIN$/,/^CSV-END$/p' | sed '1d;$d' >"$csv"
	awk -F, -f "$CG_TOP/scripts/bench.awk" "$csv"
	awk -F, -v speeds=1 -f "$CG_TOP/scripts/bench.awk" "$csv" >"$rundir/bench-speeds.txt"
	if [ "$(wc -l <"$rundir/bench-speeds.txt")" -gt 1 ]; then
		version=$(tr -d '\r' <"$log" | sed -n 's/.*Linux version \([0-9][^ ]*\).*/\1/p' | sed -n 1p)
		gnuplot -c "$CG_TOP/scripts/bench.gp" "$rundir/bench-speeds.txt" \
			"$rundir/bench.png" "cgpipe_bench, $1 ${version:-}, QEMU -icount"
		say "$lbl: plot in $rundir/bench.png"
	fi
	say "$lbl: CSV in $csv"
}

# kcsan_split CONSOLE OTHER: CONSOLE without the KCSAN reports that are
# not cgpipe's; those go to OTHER. A report runs from its "BUG: KCSAN:"
# line to the "=====" line that closes it. It is cgpipe's when one of the
# racing functions its first line names is cgpipe's, or when its stacks
# name cgpipe at all (a race in a helper cgpipe calls may be cgpipe's
# doing) unless the pair it names is a race of the base kernel listed in
# qemu/kcsan-known (reached through cgpipe only because cgpipe wakes or
# calls into that code). Races in the rest of the kernel are not ours to
# fix; every one of cgpipe's fails the run.
kcsan_split() {
	: >"$2"
	awk -v other="$2" -v known="$CG_TOP/qemu/kcsan-known" '
	function fn(s) { sub(/\+0x.*/, "", s); sub(/\..*/, "", s); return s }
	function pair(line,   a, n) {
		sub(/^BUG: KCSAN: [^ ]+ in /, "", line); n = split(line, a, / \/ /)
		if (n == 1) a[2] = a[1]
		a[1] = fn(a[1]); a[2] = fn(a[2])
		return (a[1] < a[2]) ? a[1] " / " a[2] : a[2] " / " a[1] }
	function flush(   mine) {
		if (!n) return
		mine = (buf[1] ~ /cgpipe/) || (blk ~ /cgpipe/ && !(pair(buf[1]) in ok))
		for (i = 1; i <= n; i++) if (mine) print buf[i]; else print buf[i] > other
		n = 0; blk = "" }
	BEGIN { while ((getline l < known) > 0) if (l !~ /^(#|$)/) {
		sub(/[ \t]*#.*/, "", l); ok[pair("BUG: KCSAN: x in " l)] = 1 } }
	/^BUG: KCSAN:/ { flush(); inrep = 1 }
	inrep { buf[++n] = $0; blk = blk "\n" $0; if (/^=+$/) { inrep = 0; flush() }; next }
	{ print }
	END { flush() }' "$1"
}

# guest_verdict LOG QEMU_RC RUNDIR LABEL TIMEOUT: 0 passed, 1 failed, 2 no
# verdict. Writes RUNDIR/tap.txt (the raw TAP) and RUNDIR/verdict ("N
# passed, N failed, N skipped", counting the kernel-log check as one more
# result).
guest_verdict() {
	local con=$3/console.txt tap=$3/tap.txt lbl=$4 v p f s splats
	tr -d '\r' <"$1" >"$con"
	sed -n '/^CGPIPE-TAP-BEGIN$/,/^CGPIPE-TAP-END$/p' "$con" | sed '1d;$d' >"$tap"
	if grep -q 'Kernel panic' "$con"; then
		grep -m1 -A3 'Kernel panic' "$con" >&2
		warn "$lbl: the kernel panicked (console: $1)"
		return 2
	fi
	if ! grep -q '^CGPIPE-VERDICT: ' "$con"; then
		[ "$2" = 124 ] && warn "$lbl: watchdog expired after ${5}s"
		warn "$lbl: no verdict from the guest (qemu exit $2; console: $1)"
		return 2
	fi
	v=$(awk -f "$CG_TOP/selftests/verdict.awk" "$tap")
	read -r p f s <<EOF
$(counts_of "$v")
EOF
	if [ $((p + f + s)) -eq 0 ]; then
		warn "$lbl: the guest ran no test (TAP: $tap)"
		return 2
	fi
	kcsan_split "$con" "$3/kcsan-other.txt" >"$3/console-checked.txt"
	if [ -s "$3/kcsan-other.txt" ]; then
		warn "$lbl: $(grep -c '^BUG: KCSAN' "$3/kcsan-other.txt") data race report(s) outside cgpipe, not counted (see $3/kcsan-other.txt)"
	fi
	splats=$(sed '/^CGPIPE-TAP-BEGIN$/,/^CGPIPE-TAP-END$/d' "$3/console-checked.txt" | grep -E "$SPLAT_RE" || true)
	if [ -n "$splats" ]; then
		printf '%s\n' "$splats" | sed -n 1,20p >&2
		warn "$lbl: the kernel log has splats (console: $1)"
		f=$((f + 1))
	else
		p=$((p + 1))
	fi
	printf '%d passed, %d failed, %d skipped\n' "$p" "$f" "$s" >"$3/verdict"
	if [ "$f" -gt 0 ]; then
		grep -E '^(# )?not ok ' "$tap" | grep -v '# SKIP' >&2 || true
		return 1
	fi
	return 0
}
