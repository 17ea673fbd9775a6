#!/usr/bin/env bash
# scripts/plot.sh [OUT_DIR]: the benchmark tables as PNG charts, drawn by
# gnuplot (installed if missing), in OUT_DIR (default docs/images/, where
# docs/performance.md and the Doxygen pages find them):
#
#   bench-core.png  operations per CPU-second, axle and libuv, per workload
#                   of bench-core (scripts/bench.sh);
#   bench-net.png   messages per server CPU-second, axle (epoll) and
#                   libuv, ping-pong and echo (scripts/bench-net.sh);
#   bench-http.png  requests per server CPU-second, axle, libuv and nginx,
#                   per load (scripts/bench-http.sh).
#
# The figures come from the last run's saved results when there is one
# (build-bench/results/core.txt, net.txt and http.txt, which the bench
# scripts write as they print), else from the tables of
# docs/performance.md: the latest "Operations per CPU-second" table, the
# network section's first table, the HTTP section's last with nginx
# and rows of requests per server CPU-second. Nothing is
# measured here. AX_PLOT_FROM=docs plots the documented figures even when
# results are saved. Works from any directory.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out_dir=${1:-docs/images}
results=${AX_BENCH_RESULTS:-build-bench/results}
ax_install_missing gnuplot-nox python3 >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir"

# Write $work/<chart>.tsv (a title line, then label and one figure per
# side) for each chart, from the saved results or from the document.
python3 - "$results" docs/performance.md "$work" "${AX_PLOT_FROM:-}" <<'PY'
import os, re, sys

results, doc_path, work, plot_from = sys.argv[1:5]

def number(text):
    text = text.strip().replace(",", "")
    return float(text) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text) else None

def tables(lines):
    """Markdown tables as (index of the header line, header, rows)."""
    found, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and \
                re.match(r"^\|[\s:|-]+\|\s*$", lines[i + 1]):
            cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]
            header, rows, j = cells(lines[i]), [], i + 2
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(cells(lines[j]))
                j += 1
            found.append((i, header, rows))
            i = j
        else:
            i += 1
    return found

def pick(header, rows, suffix, sides):
    """Rows whose name ends with suffix: the label and each side's figure."""
    columns = []
    for side in sides:
        names = [side, side + " epoll", side + ", epoll"]
        columns.append(next(k for k, h in enumerate(header) if h.lower() in names))
    out = []
    for row in rows:
        if row[0].endswith(suffix):
            figures = [number(row[c]) for c in columns]
            if all(f is not None for f in figures):
                label = row[0][: -len(suffix)].rstrip(" :")
                label = label.replace(" connections", " conns")
                out.append([label] + figures)
    return out

def saved(name, suffix):
    """The saved results' lines, if there are some with the rows wanted."""
    path = os.path.join(results, name)
    if plot_from == "docs" or not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read()
    if suffix not in text:
        # A run that stopped before its table: the document's figures.
        print("plot: %s has no table (a run cut short?); using docs/performance.md" % path)
        return None
    return text.splitlines()

doc = open(doc_path).read().splitlines()
doc_tables = tables(doc)
def section_start(title):
    return next(i for i, line in enumerate(doc) if line == title)

charts = {}
# Core: bench-core's own table (workload, axle/CPU-s, libuv/CPU-s, ...).
lines = saved("core.txt", "axle/CPU-s")
if lines is not None:
    rows, source = [], os.path.join(results, "core.txt")
    for line in lines:
        fields = line.split()
        if len(fields) >= 7 and fields[-4].endswith("x") and number(fields[-6]) is not None:
            rows.append([" ".join(fields[:-6]), number(fields[-6]), number(fields[-5])])
else:
    start = max(i for i, line in enumerate(doc)
                if line.startswith("Operations per CPU-second"))
    _, header, body = next(t for t in doc_tables if t[0] > start)
    rows = [[r[0], number(r[1]), number(r[2])] for r in body]
    source = "docs/performance.md"
charts["core"] = (source, rows)

# Network: the script's table, or the network section's first table.
def with_libuv(found):
    """The last of the tables that have a libuv column: bench-net.sh
    prints the floor's and the baseline's tables after the main one."""
    return [t for t in found if any(h.lower() == "libuv" for h in t[1])][-1]

lines = saved("net.txt", "per server CPU-second")
if lines is not None:
    source, (_, header, body) = os.path.join(results, "net.txt"), with_libuv(tables(lines))
else:
    start = section_start("## Network")
    source, (_, header, body) = "docs/performance.md", next(
        t for t in doc_tables if t[0] > start)
charts["net"] = (source, pick(header, body, "round trips per server CPU-second",
                              ["axle", "libuv"]) +
                 pick(header, body, "messages per server CPU-second",
                      ["axle", "libuv"]))

# HTTP: the script's table, or the HTTP section's last one with nginx.
lines = saved("http.txt", "per server CPU-second")
if lines is not None:
    source, (_, header, body) = os.path.join(results, "http.txt"), with_libuv(tables(lines))
else:
    start = section_start("## HTTP")
    source, (_, header, body) = "docs/performance.md", [
        t for t in doc_tables if t[0] > start and "nginx" in t[1] and
        any(r[0].endswith("requests per server CPU-second") for r in t[2])][-1]
charts["http"] = (source, pick(header, body, "requests per server CPU-second",
                               ["axle", "libuv", "nginx"]))

for name, (source, rows) in charts.items():
    if not rows:
        sys.exit("plot: no figures for the %s chart in %s" % (name, source))
    with open(os.path.join(work, name + ".tsv"), "w") as f:
        f.write("# from %s\n" % source)
        for row in rows:
            f.write("\t".join(['"%s"' % row[0]] + ["%.0f" % v for v in row[1:]]) + "\n")
    print("%s: %d rows from %s" % (name, len(rows), source))
PY

# One clustered bar chart: $1 chart name, $2 "log" or "linear" (the y
# axis: log where the workloads' figures span several powers of ten), $3
# title, $4 y label, then the sides' names, one column of the .tsv each.
draw() {
  local name=$1 scale=$2 title=$3 ylabel=$4
  shift 4
  local sides=("$@") plots=() i
  for i in "${!sides[@]}"; do
    plots+=("'$work/$name.tsv' using $((i + 2)):xtic(1) title '${sides[$i]}'")
  done
  local joined
  joined=$(printf '%s, ' "${plots[@]}")
  gnuplot <<EOF
set terminal pngcairo size 900,480 font 'sans,10'
set output '$out_dir/bench-$name.png'
set title '$title'
set ylabel '$ylabel'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30 left nomirror
set ytics nomirror
set format y '%.0s%c'
$([ "$scale" = log ] && echo 'set logscale y 10' || echo 'set yrange [0:*]')
set grid ytics
set key top right
set bmargin 7
set rmargin 14
set datafile separator '\t'
set linetype 1 lc rgb '#1f77b4'
set linetype 2 lc rgb '#ff7f0e'
set linetype 3 lc rgb '#2ca02c'
plot ${joined%, }
EOF
  echo "wrote $out_dir/bench-$name.png ($(du -k "$out_dir/bench-$name.png" | cut -f1) KiB)"
}

draw core log "bench-core: operations per CPU-second (higher is better)" \
  "operations per CPU-second (log scale)" axle libuv
draw net linear "TCP echo servers: messages (ping-pong: round trips) per server CPU-second (higher is better)" \
  "messages per server CPU-second" axle libuv
draw http log "HTTP servers: requests per server CPU-second (higher is better)" \
  "requests per server CPU-second (log scale)" axle libuv nginx
