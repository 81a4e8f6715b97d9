# Delay p95 against credits per document, one panel per scenario, one marker per strategy (the
# same in every panel, named in the key): lower-left is better. Called by bench/run_policy.sh
# with data= and out= set.
set terminal pngcairo size 1400,1050 font "DejaVu Sans,11"
set output out
strategies = "fixed-2s fixed-5s fixed-10s fixed-30s fixed-60s backoff gatilho oracle gatilho-pt"
colors = "#9ecae1 #6baed6 #4292c6 #2171b5 #084594 #fd8d3c #d62728 #2ca02c #ff9896"
points = "7 7 7 7 7 9 7 5 6"
sizes = "1.4 1.4 1.4 1.4 1.4 1.6 2.4 2.0 1.6"
set multiplot layout 2,2 title "Detection delay p95 against credits per document (a simulated day, 3 tokens)"
set logscale xy
set xlabel "credits per document (mean)"
set ylabel "detection delay p95 (s)"
set grid
set xtics (1, 1.1, 1.2, 1.3, 1.5, 2, 3, 5, 7, 10, 15, 20)
set ytics (10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000)
set autoscale fix
set offsets graph 0.1, graph 0.1, graph 0.25, graph 0.25
set key top right font ",9" box opaque
do for [s in "light erp60 overload outage"] {
  set title s
  plot for [i = 1:words(strategies)] \
       sprintf("< awk '$2 == \"%s\" && $3 == \"%s\"' %s", s, word(strategies, i), data) \
       using 4:5 with points pt int(word(points, i)) ps word(sizes, i)+0 \
       lc rgb word(colors, i) title word(strategies, i)
}
unset multiplot
