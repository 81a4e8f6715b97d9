# Delay p95 against credits per document, one panel per scenario, every strategy a labelled
# point: lower-left is better. Called by bench/run_policy.sh with data= and out= set.
set terminal pngcairo size 1400,1000 font "DejaVu Sans,11"
set output out
set multiplot layout 2,2 title "Detection delay p95 vs credits per document (simulated day, 3 tokens)"
set logscale xy
set xlabel "credits per document (mean)"
set ylabel "detection delay p95 (s)"
set grid
set key off
set offsets graph 0.08, graph 0.15, graph 0.15, graph 0.1
do for [s in "light erp60 overload outage"] {
  set title s
  plot sprintf("< awk '$2 == \"%s\"' %s", s, data) using 4:5 with points pt 7 ps 1.5 lc rgb "#1f77b4", \
       sprintf("< awk '$2 == \"%s\" && $3 == \"gatilho\"' %s", s, data) using 4:5 with points pt 7 ps 2.2 lc rgb "#d62728", \
       sprintf("< awk '$2 == \"%s\" && $3 == \"oracle\"' %s", s, data) using 4:5 with points pt 5 ps 1.8 lc rgb "#2ca02c", \
       sprintf("< awk '$2 == \"%s\"' %s", s, data) using 4:5:3 with labels offset char 0,1 font ",9" tc rgb "#333333"
}
unset multiplot
