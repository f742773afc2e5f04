# SPDX-License-Identifier: GPL-2.0
# The benchmark CSVs (mode,transport,value,unit) of several arches side by
# side, as in the cover letter: a row per mode and transport, per CSV the
# value and its ratio to the pipe's in the same boot (to one live cgroup
# for "open"). The column heads are the names given in -v labels.
#   awk -F, -v labels=arm64,x86_64 -f scripts/bench-table.awk A.csv B.csv
FNR == 1 {
	nf++
	next
}
{
	if (!(($1, $2) in seen)) {
		seen[$1, $2] = 1
		row[++nr] = $1 SUBSEP $2
	}
	val[nf, $1, $2] = $3
	unit[$1] = $4
}
END {
	split(labels, label, ",")
	printf "  %-13s %-10s", "mode", "transport"
	for (i = 1; i <= nf; i++)
		printf " %16s %6s", label[i] " value", "ratio"
	printf "\n"
	for (r = 1; r <= nr; r++) {
		split(row[r], k, SUBSEP)
		base = k[1] == "open" ? "cgpipe-1" : "pipe"
		printf "  %-13s %-10s", k[1], k[2]
		for (i = 1; i <= nf; i++) {
			v = val[i, k[1], k[2]]
			b = val[i, k[1], base]
			printf " %9.1f %-6s %6s", v, unit[k[1]], b ? sprintf("%.3f", v / b) : "-"
		}
		printf "\n"
	}
}
