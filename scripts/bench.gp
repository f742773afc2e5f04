# SPDX-License-Identifier: GPL-2.0
# gnuplot -c scripts/bench.gp SPEEDS PNG TITLE: grouped bars of each
# transport's speed relative to the pipe, one group per mode (bench.awk
# -v speeds=1 writes SPEEDS).
set terminal pngcairo size 1120,560 font ",11" noenhanced
set output ARG2
set title ARG3
set style data histograms
set style histogram clustered gap 2
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left horizontal
set grid ytics
set xtics rotate by -20
set ylabel "speed relative to the pipe (higher is better)"
set yrange [0:*]
set datafile missing "-"
plot for [i = 2:*] ARG1 using i:xtic(1) title columnheader(i)
