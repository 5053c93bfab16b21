# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "dir='out/experiments'; img='Documentation/images'" scripts/plot/fairness.gp
set terminal pngcairo size 1000,600 font ",10"
set output img.'/fairness.png'
set datafile separator ','
set multiplot layout 2,1 title 'Shared 20 Mbit/s bottleneck: one MPTCP connection (2 subflows) and one Reno TCP flow'
set grid
set ylabel 'Mbit/s'
set yrange [0:22]
set key top right horizontal
set title 'MPTCP subflows coupled with lia'
plot dir.'/fairness-lia.csv' using 1:2 with lines lw 2 title 'MPTCP (lia)', \
     ''                      using 1:3 with lines lw 2 title 'TCP (Reno)'
set title 'MPTCP subflows uncoupled (Reno each)'
set xlabel 'time (s)'
plot dir.'/fairness-reno.csv' using 1:2 with lines lw 2 title 'MPTCP (uncoupled Reno)', \
     ''                       using 1:3 with lines lw 2 title 'TCP (Reno)'
unset multiplot
