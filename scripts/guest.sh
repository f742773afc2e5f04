# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Build the guest (kernel, kselftests, initramfs), boot it, read its verdict.
# Sourced by scripts/cgpipe after lib.sh and series.sh. Per-arch facts come
# from qemu/ARCH.conf through load_arch.

# What in a kernel log means the kernel misbehaved during the run.
SPLAT_RE='BUG:|WARNING:|KASAN:|UBSAN:|Oops|general protection fault|Unable to handle kernel|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|unreferenced object|Kernel panic'

# guest_dirs ARCH: load the arch, set CG_BUILD (O= dir), CG_RUNDIR and
# CG_LABEL for the flavour (OPT_DEBUG): each flavour has its own dirs.
guest_dirs() {
	local flavour=
	load_arch "$1"
	[ "$OPT_DEBUG" = 1 ] && flavour=-debug
	CG_LABEL=$1${flavour:+ (debug)}
	CG_BUILD=$CG_OUT/build/$1-${CG_SRC##*/}$flavour
	CG_RUNDIR=$CG_OUT/run/$1-${CG_SRC##*/}$flavour
	mkdir -p "$CG_BUILD" "$CG_RUNDIR"
}

config_fragments() {
	printf '%s\n' "$CG_TOP/qemu/common.config" "$CG_TOP/qemu/$CG_ARCH.config" \
		"$CG_TOP/Kconfig.fragment" "$CG_SRC/tools/testing/selftests/cgpipe/config"
	[ "$OPT_DEBUG" = 1 ] && printf '%s\n' "$CG_TOP/qemu/debug.config"
	return 0
}

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

# config_verify FRAGMENT...: every requested line must be in .config;
# merge_config.sh drops options with unmet dependencies without failing.
config_verify() {
	local line sym missing=
	while read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$CG_BUILD/.config" || missing="$missing $line"
			;;
		'# CONFIG_'*' is not set')
			sym=${line#\# }
			sym=${sym%% *}
			grep -q "^$sym=" "$CG_BUILD/.config" && missing="$missing $sym=n"
			;;
		esac
	done <<EOF
$(config_wanted "$@")
EOF
	[ -z "$missing" ] ||
		die "$CG_LABEL: kconfig dropped requested options (unmet dependencies?):$missing"
}

build_config() {
	local frags key log=$CG_BUILD/config.log
	frags=$(config_fragments)
	# shellcheck disable=SC2086 # one word per fragment
	key=$(hash_of $frags "$CROSS_COMPILE" "$CG_SRC/.git/cgpipe-applied")
	stamp_ok "$CG_BUILD/.cgpipe-config" "$key" && return 0
	say "$CG_LABEL: configuring: tinyconfig + $(printf '%s\n' "$frags" | sed "s|^$CG_SRC/||; s|^$CG_TOP/||" | tr '\n' ' ')"
	kmake tinyconfig >"$log" 2>&1 || die "$CG_LABEL: tinyconfig failed (see $log)"
	# shellcheck disable=SC2086
	"$CG_SRC/scripts/kconfig/merge_config.sh" -m -O "$CG_BUILD" "$CG_BUILD/.config" $frags >>"$log" 2>&1 ||
		die "$CG_LABEL: merge_config.sh failed (see $log)"
	kmake olddefconfig >>"$log" 2>&1 || die "$CG_LABEL: olddefconfig failed (see $log)"
	# shellcheck disable=SC2086
	config_verify $frags
	stamp_set "$CG_BUILD/.cgpipe-config" "$key"
}

build_kernel() {
	local log=$CG_BUILD/build.log
	say "$CG_LABEL: building $KTARGET in $CG_BUILD (log: $log)"
	if ! kmake "$KTARGET" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "$CG_LABEL: kernel build failed (see $log)"
	fi
	if grep -q '^CONFIG_MODULES=y' "$CG_BUILD/.config" &&
		! kmake modules >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "$CG_LABEL: module build failed (see $log)"
	fi
	grep -E 'warning:|error:' "$log" >&2 || true
}

# cgpipe_module: the cgpipe.ko of this build, if cgpipe is a module.
cgpipe_module() {
	grep -q '^CONFIG_CGPIPE=m' "$CG_BUILD/.config" 2>/dev/null &&
		[ -f "$CG_BUILD/drivers/char/cgpipe.ko" ] &&
		printf '%s\n' "$CG_BUILD/drivers/char/cgpipe.ko"
}

build_kselftests() {
	local log=$CG_BUILD/kselftest.log
	say "$CG_LABEL: building the kselftests (static)"
	if ! { kmake headers && kmake TARGETS=cgpipe USERLDFLAGS=-static kselftest-install; } >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "$CG_LABEL: kselftest build failed (see $log)"
	fi
	[ -x "$CG_BUILD/kselftest/kselftest_install/run_kselftest.sh" ] ||
		die "$CG_LABEL: no run_kselftest.sh in $CG_BUILD/kselftest/kselftest_install"
}

# guest_busybox: set CG_BUSYBOX to a static busybox for the guest arch,
# from Debian's busybox-static (through multiarch for a foreign arch).
guest_busybox() {
	local dir=$CG_CACHE/busybox-$DEB_ARCH tmp
	CG_BUSYBOX=$dir/bin/busybox
	[ -x "$CG_BUSYBOX" ] && return 0
	if [ "$(dpkg --print-architecture)" = "$DEB_ARCH" ]; then
		need_pkgs busybox-static
		mkdir -p "$dir/bin"
		cp /bin/busybox "$CG_BUSYBOX"
		return 0
	fi
	if ! dpkg --print-foreign-architectures | grep -qx "$DEB_ARCH"; then
		[ "$(id -u)" = 0 ] || die "need multiarch $DEB_ARCH: sudo dpkg --add-architecture $DEB_ARCH && sudo apt-get update"
		dpkg --add-architecture "$DEB_ARCH"
		apt-get update -q >&2 || die "apt-get update failed"
	fi
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -q "busybox-static:$DEB_ARCH" >&2) ||
		die "cannot download busybox-static:$DEB_ARCH"
	dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/x"
	mkdir -p "$dir/bin"
	cp "$tmp/x/bin/busybox" "$CG_BUSYBOX"
	rm -rf "$tmp"
}

# initramfs_list: the gen_init_cpio description of the guest's root.
initramfs_list() {
	local ks=$CG_BUILD/kselftest/kselftest_install d p ko
	printf 'nod /dev/console 0600 0 0 c 5 1\n'
	for d in /dev /proc /sys /tmp /root /etc /etc/cgpipe /bin /sbin /usr \
		/usr/bin /usr/sbin /kselftest; do
		printf 'dir %s 0755 0 0\n' "$d"
	done | sort
	printf 'file /init %s 0755 0 0\n' "$CG_TOP/selftests/init"
	printf 'file /bin/busybox %s 0755 0 0\n' "$CG_BUSYBOX"
	printf 'file /usr/bin/timeout %s 0755 0 0\n' "$CG_TOP/selftests/timeout"
	printf 'file /etc/cgpipe/verdict.awk %s 0644 0 0\n' "$CG_TOP/selftests/verdict.awk"
	if ko=$(cgpipe_module); then
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
}

build_initramfs() {
	local gen=$CG_OUT/tools/gen_init_cpio
	guest_busybox
	if [ ! -x "$gen" ] || [ "$CG_SRC/usr/gen_init_cpio.c" -nt "$gen" ]; then
		mkdir -p "${gen%/*}"
		cc -O2 -o "$gen" "$CG_SRC/usr/gen_init_cpio.c" || die "cannot build gen_init_cpio"
	fi
	initramfs_list >"$CG_BUILD/initramfs.list"
	"$gen" "$CG_BUILD/initramfs.list" >"$CG_BUILD/initramfs.cpio" ||
		die "$CG_LABEL: gen_init_cpio failed"
	say "$CG_LABEL: initramfs $CG_BUILD/initramfs.cpio"
}

build_all() {
	guest_dirs "$1"
	build_config
	build_kernel
	build_kselftests
	build_initramfs
}

# qemu_args APPEND: set QEMU_ARGS for the loaded arch.
qemu_args() {
	# shellcheck disable=SC2206 # QEMU_MACHINE holds several words
	QEMU_ARGS=("$QEMU_BIN" $QEMU_MACHINE -smp 2 -m 1024 -no-reboot
		-kernel "$CG_BUILD/$KIMAGE" -initrd "$CG_BUILD/initramfs.cpio"
		-append "console=$CONSOLE panic=-1 $1")
	if [ "$OPT_ICOUNT" = 1 ]; then
		# the guest clock counts guest instructions: repeatable timing
		[ "$OPT_ACCEL" = tcg ] || die "-icount needs --accel tcg"
		QEMU_ARGS+=(-accel "tcg,thread=single" -icount "shift=0,sleep=off")
	elif [ "$OPT_ACCEL" = kvm ]; then
		[ "$(uname -m)" = "$UNAME_M" ] || die "--accel kvm needs an $UNAME_M host"
		[ -w /dev/kvm ] || die "--accel kvm: /dev/kvm is not usable"
		QEMU_ARGS+=(-accel kvm)
	else
		QEMU_ARGS+=(-accel tcg)
	fi
	if [ ! -f "$CG_BUILD/$KIMAGE" ] || [ ! -f "$CG_BUILD/initramfs.cpio" ]; then
		die "$CG_LABEL: nothing built in $CG_BUILD (run 'scripts/cgpipe build')"
	fi
}

# guest_selection: the kernel command line words for -t and -c.
guest_selection() {
	printf '%s%s' "${TESTS:+ cgtest.tests=$TESTS}" "${CASES:+ cgtest.cases=$CASES}"
}

# guest_interactive ARCH: --shell and/or --gdb, on the terminal, no watchdog.
guest_interactive() {
	local mode=run
	guest_dirs "$1"
	[ "$OPT_SHELL" = 1 ] && mode=shell
	qemu_args "cgtest.mode=$mode$(guest_selection)"
	QEMU_ARGS+=(-nographic)
	if [ "$OPT_GDB" = 1 ]; then
		QEMU_ARGS+=(-s -S)
		say "QEMU waits for gdb: ${CROSS_COMPILE:-}gdb $CG_BUILD/vmlinux -ex 'target remote :1234'"
	fi
	"${QEMU_ARGS[@]}"
}

# qemu_watched LOG: run QEMU_ARGS headless under the watchdog, the console
# to stdout and LOG; returns QEMU's status (124: the watchdog expired).
qemu_watched() {
	local rc=0
	set -o pipefail
	timeout -k 10 "$OPT_TIMEOUT" "${QEMU_ARGS[@]}" -display none -monitor none \
		-serial stdio </dev/null 2>&1 | tee "$1" || rc=$?
	set +o pipefail
	return "$rc"
}

# guest_boot ARCH: boot under the watchdog, keep the console, judge it.
guest_boot() {
	local rc=0 log
	guest_dirs "$1"
	log=$CG_RUNDIR/console.log
	rm -f "$CG_RUNDIR/verdict"
	qemu_args "cgtest.mode=run$(guest_selection)"
	say "$CG_LABEL: booting (watchdog ${OPT_TIMEOUT}s, console: $log)"
	qemu_watched "$log" || rc=$?
	guest_verdict "$log" "$rc"
}

# guest_bench ARCH: boot into cgpipe_bench with -icount, keep the console,
# write bench.csv and print the figures with their ratios (bench.awk).
guest_bench() {
	local rc=0 log csv
	guest_dirs "$1"
	log=$CG_RUNDIR/bench-console.log
	csv=$CG_RUNDIR/bench.csv
	OPT_ICOUNT=1
	qemu_args "cgtest.mode=bench${BENCH_ARGS:+ cgtest.bench=$BENCH_ARGS}"
	say "$CG_LABEL: benchmark, -icount (console: $log)"
	qemu_watched "$log" >/dev/null || rc=$?
	if ! tr -d '\r' <"$log" | grep -q '^CGPIPE-BENCH-END: 0$'; then
		sed -n '/^CGPIPE-BENCH-BEGIN$/,$p' "$log" | tail -n 20 >&2
		warn "$CG_LABEL: the benchmark did not finish (qemu exit $rc; console: $log)"
		return 2
	fi
	tr -d '\r' <"$log" | sed -n '/^CSV-BEGIN$/,/^CSV-END$/p' | sed '1d;$d' >"$csv"
	awk -F, -f "$CG_TOP/scripts/bench.awk" "$csv"
	awk -F, -v speeds=1 -f "$CG_TOP/scripts/bench.awk" "$csv" >"$CG_RUNDIR/bench-speeds.txt"
	if [ "$(wc -l <"$CG_RUNDIR/bench-speeds.txt")" -gt 1 ]; then
		gnuplot -c "$CG_TOP/scripts/bench.gp" "$CG_RUNDIR/bench-speeds.txt" \
			"$CG_RUNDIR/bench.png" "cgpipe_bench, $CG_ARCH $CG_BASE_VERSION, QEMU -icount"
		say "$CG_LABEL: plot in $CG_RUNDIR/bench.png"
	fi
	say "$CG_LABEL: CSV in $csv"
}

# guest_verdict LOG QEMU_RC: 0 passed, 1 failed, 2 no verdict. Writes
# tap.txt (the raw TAP) and verdict ("N passed, N failed, N skipped",
# counting the kernel-log check as one more result).
guest_verdict() {
	local con=$CG_RUNDIR/console.txt tap=$CG_RUNDIR/tap.txt v p f s splats
	tr -d '\r' <"$1" >"$con"
	sed -n '/^CGPIPE-TAP-BEGIN$/,/^CGPIPE-TAP-END$/p' "$con" | sed '1d;$d' >"$tap"
	if grep -q 'Kernel panic' "$con"; then
		grep -m1 -A3 'Kernel panic' "$con" >&2
		warn "$CG_LABEL: the kernel panicked (console: $1)"
		return 2
	fi
	if ! grep -q '^CGPIPE-VERDICT: ' "$con"; then
		[ "$2" = 124 ] && warn "$CG_LABEL: watchdog expired after ${OPT_TIMEOUT}s"
		warn "$CG_LABEL: no verdict from the guest (qemu exit $2; console: $1)"
		return 2
	fi
	v=$(awk -f "$CG_TOP/selftests/verdict.awk" "$tap")
	read -r p f s <<EOF
$(counts_of "$v")
EOF
	if [ $((p + f + s)) -eq 0 ]; then
		warn "$CG_LABEL: the guest ran no test (TAP: $tap)"
		return 2
	fi
	splats=$(sed '/^CGPIPE-TAP-BEGIN$/,/^CGPIPE-TAP-END$/d' "$con" | grep -E "$SPLAT_RE" || true)
	if [ -n "$splats" ]; then
		printf '%s\n' "$splats" | head -n 20 >&2
		warn "$CG_LABEL: the kernel log has splats (console: $1)"
		f=$((f + 1))
	else
		p=$((p + 1))
	fi
	printf '%d passed, %d failed, %d skipped\n' "$p" "$f" "$s" >"$CG_RUNDIR/verdict"
	if [ "$f" -gt 0 ]; then
		grep -E '^(# )?not ok ' "$tap" | grep -v '# SKIP' >&2 || true
		return 1
	fi
	return 0
}
