# SPDX-License-Identifier: GPL-2.0
# gnuplot -e "dir='out/experiments'; img='Documentation/images'" scripts/plot/handover.gp
set terminal pngcairo size 1000,650 font ",10"
set output img.'/handover.png'
set datafile separator ','
set multiplot layout 2,1 title 'Download through the proxy; wifi down at 10 s, back at 20 s (lia)'
set grid
set ylabel 'Mbit/s'
set yrange [0:60]
set key top right horizontal font ",9"
set arrow 1 from 10, graph 0 to 10, graph 1 nohead dt 3 lc 'red'
set arrow 2 from 20, graph 0 to 20, graph 1 nohead dt 3 lc 'red'
do for [m in "regular backup"] {
	set title 'cellular as a '.m.' subflow'
	if (m eq 'backup') { set xlabel 'time (s)' }
	plot dir.'/handover-'.m.'.csv' skip 1 using 1:2 with lines lw 2 title 'wifi', \
	     '' skip 1 using 1:3 with lines lw 2 title 'cellular', \
	     dir.'/handover-'.m.'-ticks.csv' using 1:3 with lines lw 1 lc 'black' title 'application goodput (100 ms)'
}
unset multiplot
