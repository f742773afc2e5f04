# SPDX-License-Identifier: GPL-2.0
# The benchmark's CSV (mode,transport,value,unit) as a table, with each
# figure's ratio to the pipe's in the same mode (to one live cgroup for
# "open"). For ns, lower is better; for rates, higher.
NR == 1 { next }
{
	if (!($1 in n))
		modes[++nm] = $1
	tr[$1, ++n[$1]] = $2
	val[$1, $2] = $3
	unit[$1] = $4
}
END {
	printf "%-7s %-11s %14s %-7s %s\n", "mode", "transport", "value", "unit", "vs base"
	for (i = 1; i <= nm; i++) {
		m = modes[i]
		base = (m == "open") ? val[m, "cgpipe-1"] : val[m, "pipe"]
		for (j = 1; j <= n[m]; j++) {
			t = tr[m, j]
			r = base ? sprintf("%.3f", val[m, t] / base) : "-"
			printf "%-7s %-11s %14.1f %-7s %s\n", m, t, val[m, t], unit[m], r
		}
	}
}
