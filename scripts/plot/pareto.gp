# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "dir='out/experiments'; img='Documentation/images'" scripts/plot/pareto.gp
set terminal pngcairo size 1000,900 font ",10"
set output img.'/pareto.png'
set datafile separator ','
set multiplot layout 3,1 title 'Two disjoint 20 Mbit/s paths; a Reno TCP user shares path 1 with the multipath user'
set grid
set ylabel 'Mbit/s'
set yrange [0:24]
set key top right horizontal font ",9"
set title 'MPTCP subflows coupled with lia'
plot dir.'/pareto-lia.csv' skip 1 using 1:2 with lines lw 2 title 'MPTCP on path 1', \
     '' skip 1 using 1:3 with lines lw 2 title 'MPTCP on path 2', \
     '' skip 1 using 1:4 with lines dt 2 lw 2 title 'TCP user on path 1'
set title 'MPTCP subflows coupled with olia'
plot dir.'/pareto-olia.csv' skip 1 using 1:2 with lines lw 2 title 'MPTCP on path 1', \
     '' skip 1 using 1:3 with lines lw 2 title 'MPTCP on path 2', \
     '' skip 1 using 1:4 with lines dt 2 lw 2 title 'TCP user on path 1'
set title 'MPTCP subflows uncoupled (Reno each)'
set xlabel 'time (s)'
plot dir.'/pareto-reno.csv' skip 1 using 1:2 with lines lw 2 title 'MPTCP on path 1', \
     '' skip 1 using 1:3 with lines lw 2 title 'MPTCP on path 2', \
     '' skip 1 using 1:4 with lines dt 2 lw 2 title 'TCP user on path 1'
unset multiplot
