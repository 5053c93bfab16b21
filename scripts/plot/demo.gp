# SPDX-License-Identifier: GPL-2.0
# Per-path throughput of the main job: gnuplot -e "dir='out/demo'" scripts/plot/demo.gp
set terminal pngcairo size 1000,500 font ",10"
set output dir.'/throughput.png'
set datafile separator ','
set key outside top center horizontal
set xlabel 'time (s)'
set ylabel 'Mbit/s'
set grid
stats dir.'/demo.csv' skip 1 using 2 nooutput
wmax = STATS_max
stats dir.'/demo.csv' skip 1 using 3 nooutput
ymax = (wmax > STATS_max ? wmax : STATS_max) * 1.15 + 1
set yrange [0:ymax * 1.1]
set xrange [0:*]
set title 'Download through the MPTCP proxy: per-path throughput at the client'
plot dir.'/demo.csv' skip 1 using 1:2 with lines lw 2 title 'wifi', \
     ''              skip 1 using 1:3 with lines lw 2 title 'cellular', \
     ''              skip 1 using 1:4 with lines lw 1 dt 2 lc 'black' title 'application goodput', \
     dir.'/demo-events.csv' skip 1 using 1:(ymax) with impulses lc 'red' dt 3 notitle, \
     ''              skip 1 using 1:(ymax):2 with labels left offset 0.5,0.5 tc 'red' notitle
