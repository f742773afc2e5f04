# SPDX-License-Identifier: GPL-2.0
# Count kselftest results in TAP printed by run_kselftest.sh.
#
# Each test program prints its harness cases as nested TAP ("# ok 3 name"),
# then the runner prints one top-level line for the program ("ok 1 selftests:
# cgpipe: io_test"). Cases are what we count. A program that printed no
# case counts as one result itself; a program whose top-level line failed
# although none of its cases did (crash, timeout) adds one failure.
# Prints "N passed, N failed, N skipped". POSIX awk: runs in the guest
# (busybox) and on the host.

function directive(line) {
	if (line ~ /#[ \t]*[Ss][Kk][Ii][Pp]/)
		return "skip"
	return ""
}

function result(line, nested) {
	sub(/\r$/, "", line)
	if (nested)
		sub(/^#[ \t]*/, "", line)
	if (line ~ /^not ok [0-9]+/)
		return directive(line) == "skip" ? "skip" : "fail"
	if (line ~ /^ok [0-9]+/)
		return directive(line) == "skip" ? "skip" : "pass"
	return ""
}

/^#[ \t]*(not )?ok [0-9]+/ {
	r = result($0, 1)
	cases++
	n[r]++
	next
}

/^(not )?ok [0-9]+/ {
	r = result($0, 0)
	if (cases == 0)
		total[r]++
	else if (r == "fail" && n["fail"] == 0)
		total["fail"]++
	total["pass"] += n["pass"]
	total["fail"] += n["fail"]
	total["skip"] += n["skip"]
	cases = 0
	n["pass"] = n["fail"] = n["skip"] = 0
}

END {
	printf "%d passed, %d failed, %d skipped\n", total["pass"] + n["pass"], \
		total["fail"] + n["fail"], total["skip"] + n["skip"]
}
