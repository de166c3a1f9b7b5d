#!/usr/bin/env python3
"""Turns bench/engines.sh measurements into a table: printed, and written into
RESULTS.md inside the engines block (<!-- engines:begin --> ... <!-- engines:end
-->), between the markers of this corpus size; the rest of the block (the other
size, hand-written notes) and of the file is kept.

  engines_report.py ENGINES_TSV --size S --files N --bytes B --loads TEXT
                    --postgres VERSION --commit C --out RESULTS.md
"""
import argparse
import datetime
import os
import re
import statistics

from report import human  # bench/report.py: one formatting for every table

GOAL = 1.5  # issue 13: PostgreSQL within 1.5x of SQLite for one node
ENGINES = ("sqlite", "postgresql")
BEGIN, END = "<!-- engines:begin -->", "<!-- engines:end -->"
HEAD = ("## Metadata engines: SQLite and PostgreSQL, one node\n\n"
        "Written by `bench/engines.sh` (see `bench/README.md`): the same corpus published to and "
        "fetched from a `converge serve` on SQLite and one with `--db` on a throwaway PostgreSQL "
        "cluster on a Unix socket (fsync off, as `scripts/pg-cluster.sh` makes it); a fresh "
        "server, data dir and database each per run, three runs (`BENCH_RUNS`), the median; the "
        "engine that goes first alternates from row to row and run to run. *In the server* is "
        "the time the step's requests spent in the server (its access log), the rest being the "
        "client's; server RSS is the `converge serve` process only (PostgreSQL's own processes "
        "are not in it); the CPU columns are the CPU seconds the converge server and the "
        "PostgreSQL cluster spent in the step. The sections between the size markers are "
        "replaced on each run.\n")


def section(a, rows, data):
    out = []
    out.append("Corpus: %s files, %s. Converge %s, PostgreSQL %s. Run %s. Load average "
               "(1/5/15 min) before -> after each run: %s." %
               (a.files, human(a.bytes), a.commit, a.postgres,
                datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), a.loads))
    out.append("")
    out.append("| step | SQLite s | PostgreSQL s | PG/SQLite | within %.1fx | in the server s "
               "SQLite / PG | server peak RSS SQLite / PG MiB | server CPU s SQLite / PG | "
               "PostgreSQL CPU s | runs SQLite; PG (s) |" % GOAL)
    out.append("|---|---:|---:|---:|---|---:|---:|---:|---:|---|")
    for row in rows:
        s, p = data[(row, "sqlite")], data[(row, "postgresql")]
        med = lambda d, k: statistics.median(x[k] for x in d)
        ss, ps = med(s, "secs"), med(p, "secs")
        ratio = ps / ss if ss > 0 else float("inf")
        peak = lambda d: "%.0f" % (max(x["rss"] for x in d) / 1024.0)
        runs = lambda d: ", ".join("%.2f" % x["secs"] for x in d)
        out.append("| %s | %.3f | %.3f | %.2f | %s | %.3f / %.3f | %s / %s | %.2f / %.2f | %.2f | "
                   "%s; %s |" %
                   (row, ss, ps, ratio, "yes" if ratio <= GOAL else "**no**", med(s, "srv"),
                    med(p, "srv"), peak(s), peak(p), med(s, "cpu"), med(p, "cpu"), med(p, "pg"),
                    runs(s), runs(p)))
    return "\n".join(out)


def place(text, size, block):
    """`text` with the engines block's section for `size` replaced by `block`."""
    begin, end = "<!-- engines %s:begin -->" % size, "<!-- engines %s:end -->" % size
    sub = "%s\n### %s corpus\n\n%s\n%s" % (begin, size.capitalize(), block, end)
    if BEGIN not in text:
        text = text.rstrip("\n") + "\n\n%s\n%s\n%s\n" % (BEGIN, HEAD, END)
    head, rest = text.split(BEGIN, 1)
    inner, tail = rest.split(END, 1)
    if begin in inner:
        inner = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: sub, inner,
                       flags=re.S)
    else:
        inner = inner.rstrip("\n") + "\n\n" + sub + "\n"
    return head + BEGIN + inner + END + tail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    for k in ("size", "files", "bytes", "loads", "postgres", "commit", "out"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    rows, data = [], {}
    for line in open(a.tsv):
        run, row, engine, secs, rss, cpu, pg, srv = line.rstrip("\n").split("\t")
        if row not in rows:
            rows.append(row)
        data.setdefault((row, engine), []).append(
            {"run": int(run), "secs": float(secs), "rss": int(rss), "cpu": float(cpu),
             "pg": float(pg), "srv": float(srv)})
    block = section(a, rows, data)
    print(block)
    text = open(a.out).read() if os.path.exists(a.out) else (
        "# Benchmark results\n\nWritten by `bench/run.sh` and `bench/engines.sh` (see "
        "`bench/README.md`); the sections between markers are replaced on each run.\n")
    with open(a.out, "w") as fh:
        fh.write(place(text, a.size, block))


if __name__ == "__main__":
    main()
