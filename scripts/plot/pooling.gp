# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "dir='out/experiments'; img='Documentation/images'; half=15" scripts/plot/pooling.gp
set terminal pngcairo size 1000,650 font ",10"
set output img.'/pooling.png'
set datafile separator ','
set multiplot layout 2,1 title 'Two disjoint 10 Mbit/s paths; a Reno flow loads path 1, then path 2'
set grid
set ylabel 'Mbit/s'
set yrange [0:12]
set key top right horizontal font ",9"
set arrow 1 from half, graph 0 to half, graph 1 nohead dt 3 lc 'red'
set title 'MPTCP subflows coupled with lia'
plot dir.'/pooling-lia.csv' skip 1 using 1:2 with lines lw 2 title 'MPTCP on path 1', \
     '' skip 1 using 1:3 with lines lw 2 title 'MPTCP on path 2', \
     '' skip 1 using 1:4 with lines dt 2 lw 2 title 'background on path 1', \
     '' skip 1 using 1:5 with lines dt 2 lw 2 title 'background on path 2'
set title 'MPTCP subflows uncoupled (Reno each)'
set xlabel 'time (s)'
plot dir.'/pooling-reno.csv' skip 1 using 1:2 with lines lw 2 title 'MPTCP on path 1', \
     '' skip 1 using 1:3 with lines lw 2 title 'MPTCP on path 2', \
     '' skip 1 using 1:4 with lines dt 2 lw 2 title 'background on path 1', \
     '' skip 1 using 1:5 with lines dt 2 lw 2 title 'background on path 2'
unset multiplot
