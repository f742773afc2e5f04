# SPDX-License-Identifier: GPL-2.0
# cgpipe against the pipe, from benchmark CSVs (mode,transport,value,unit)
# of several kernels: one row per mode, one column per CSV in the order
# given, each cgpipe's value over the pipe's in that boot (for ns a time
# ratio, lower is better), then the change from the first column to the
# last. The before/after tables of the commit messages and cover letter:
#   awk -F, -v labels=before,after -f scripts/ablation.awk A.csv B.csv
# With -v raw=1: cgpipe's own values instead of ratios, and how much the
# pipe moved between the first and the last kernel (a pipe that moved says
# how far two kernels differ in that mode for reasons not in cgpipe).
FNR == 1 {
	nf++
	next
}
$2 == "pipe" { pipe[nf, $1] = $3 }
$2 == "cgpipe" {
	cg[nf, $1] = $3
	unit[$1] = $4
	if (!($1 in seen)) {
		seen[$1] = 1
		modes[++nm] = $1
	}
}
END {
	nl = split(labels, label, ",")
	printf "  %-13s", "mode"
	if (raw)
		printf " %-7s", "unit"
	for (i = 1; i <= nf; i++)
		printf " %9s", i <= nl ? label[i] : "csv" i
	printf " %8s", "change"
	if (raw)
		printf " %8s", "pipe"
	printf "\n"
	for (j = 1; j <= nm; j++) {
		m = modes[j]
		printf "  %-13s", m
		if (raw)
			printf " %-7s", unit[m]
		for (i = 1; i <= nf; i++) {
			if (raw)
				r[i] = cg[i, m]
			else
				r[i] = pipe[i, m] ? cg[i, m] / pipe[i, m] : 0
			printf " %9s", r[i] ? sprintf(raw ? "%.1f" : "%.3f", r[i]) : "-"
		}
		printf " %8s", change(r[1], r[nf])
		if (raw)
			printf " %8s", change(pipe[1, m], pipe[nf, m])
		printf "\n"
	}
}

function change(a, b,    c) {
	if (!a || !b)
		return "-"
	c = 100 * (b / a - 1)
	return (c < 0.05 && c > -0.05) ? "0.0%" : sprintf("%+.1f%%", c)
}
