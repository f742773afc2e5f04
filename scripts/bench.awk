# SPDX-License-Identifier: GPL-2.0
# The benchmark's CSV (mode,transport,value,unit) as a table, with each
# figure's ratio to the pipe's in the same mode (to one live cgroup for
# "open"). For ns, lower is better; for rates, higher. With -v speeds=1,
# instead a matrix for bench.gp: a row per mode but "open", a column per
# transport, each the speed relative to the pipe (times inverted), "-"
# where a transport has no figure.
NR == 1 { next }
{
	if (!($1 in n))
		modes[++nm] = $1
	tr[$1, ++n[$1]] = $2
	val[$1, $2] = $3
	unit[$1] = $4
}
END {
	if (speeds) {
		print_speeds()
		exit
	}
	printf "%-13s %-10s %14s %-7s %s\n", "mode", "transport", "value", "unit", "vs base"
	for (i = 1; i <= nm; i++) {
		m = modes[i]
		base = (m == "open") ? val[m, "cgpipe-1"] : val[m, "pipe"]
		for (j = 1; j <= n[m]; j++) {
			t = tr[m, j]
			r = base ? sprintf("%.3f", val[m, t] / base) : "-"
			printf "%-13s %-10s %14.1f %-7s %s\n", m, t, val[m, t], unit[m], r
		}
	}
}

function print_speeds(    i, j, k, m, t, line, have) {
	for (i = 1; i <= nm; i++)
		for (j = 1; j <= n[modes[i]]; j++)
			if (!(tr[modes[i], j] in cols) && modes[i] != "open")
				cols[tr[modes[i], j]] = ++nc
	line = "mode"
	for (k = 1; k <= nc; k++)
		for (t in cols)
			if (cols[t] == k)
				line = line " " t
	print line
	for (i = 1; i <= nm; i++) {
		m = modes[i]
		if (m == "open")
			continue
		line = m
		for (k = 1; k <= nc; k++)
			for (t in cols)
				if (cols[t] == k) {
					have = ((m, t) in val) && val[m, "pipe"]
					if (!have)
						line = line " -"
					else if (unit[m] == "ns")
						line = line " " sprintf("%.3f", val[m, "pipe"] / val[m, t])
					else
						line = line " " sprintf("%.3f", val[m, t] / val[m, "pipe"])
				}
		print line
	}
}
