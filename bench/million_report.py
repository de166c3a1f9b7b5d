#!/usr/bin/env python3
"""Turns one size's bench/million.sh measurements into RESULTS.md's million
block (between <!-- million:begin --> and <!-- million:end -->; everything
outside it is kept). The block holds one table per size and, once both sizes
have run, the 1m / 100k ratio of every step. Each size's raw numbers are kept
in the block as a JSON comment, so that a run of one size can be compared with
the last run of the other.

  million_report.py RESULTS_TSV --size 100k|1m --files N --dirs D --bytes B
      --make-secs S --load-before L --load-after L --commit C
      --store-converge B --store-git B --out RESULTS.md
"""
import argparse
import datetime
import json
import os
import re
import statistics

from report import human, mib  # bench/report.py: one formatting for every table

BEGIN, END = "<!-- million:begin -->", "<!-- million:end -->"
DATA = re.compile(r"<!-- million-data (\{.*\}) -->")  # one line of JSON
RSS_LIMIT_KIB = 200 * 1024
MAX_GROWTH = 12.0
SIZES = ("100k", "1m")
HEAD = ("## A million files (`bench/million.sh`)\n\n"
        "Synthetic tree (`corpus.py synthetic N`): N files of about 100-900 bytes (every 1000th "
        "16 KiB) in N/10 directories. Targets (issue 14): peak RSS of client and server at most "
        "200 MiB at every step; the 1,000,000 row at most 12x the 100,000 row for every step. "
        "Load is the 1-minute load average before -> after the step (2 cores, shared).")


def read_tsv(path):
    """One row per (step, tool) in the order of their first run: the median
    time of its runs, the largest RSS of any, the first run's bytes and load."""
    rows, by_key = [], {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        key = (f[0], f[1])
        if key not in by_key:
            by_key[key] = {"row": f[0], "tool": f[1], "runs": [], "rss": 0, "srv": 0,
                           "bytes": int(f[5]), "load": "%s -> %s" % (f[6], f[7])}
            rows.append(by_key[key])
        r = by_key[key]
        r["runs"].append(float(f[2]))
        r["rss"], r["srv"] = max(r["rss"], int(f[3])), max(r["srv"], int(f[4]))
    for r in rows:
        r["secs"] = statistics.median(r["runs"])
    return rows


def size_table(d):
    out = ["### %s files" % "{:,}".format(d["files"]), "",
           "%s files in %s directories, %s; made in %s s. Converge %s. Load average (1/5/15 min) "
           "before: %s, after: %s. Run %s. Server stores at the end: converge %s, git %s." %
           ("{:,}".format(d["files"]), "{:,}".format(d["dirs"]), human(d["bytes"]),
            d["make_secs"], d["commit"], d["load_before"], d["load_after"], d["when"],
            human(d["store_converge"]), human(d["store_git"])), "",
           "| step | tool | wall (median) | runs | converge/git | RSS client / server MiB "
           "(largest) | RSS <= 200 MiB | bytes sent | load (first run) |",
           "|---|---|---:|---|---:|---:|---|---:|---|"]
    secs = {(r["row"], r["tool"]): r["secs"] for r in d["rows"]}
    for r in d["rows"]:
        ratio = ""
        if r["tool"] == "converge" and secs.get((r["row"], "git")):
            ratio = "%.2f" % (r["secs"] / secs[(r["row"], "git")])
        ok = ""
        if r["tool"] == "converge":
            ok = "yes" if max(r["rss"], r["srv"]) <= RSS_LIMIT_KIB else "**no**"
        runs = ", ".join("%.3f" % x for x in r.get("runs", [r["secs"]]))
        out.append("| %s | %s | %.3f s | %s | %s | %s / %s | %s | %s | %s |" %
                   (r["row"], r["tool"], r["secs"], runs, ratio, mib(r["rss"]),
                    mib(r["srv"]) if r["srv"] else "-", ok,
                    human(r["bytes"]) if r["bytes"] else "", r["load"]))
    worst = max([max(r["rss"], r["srv"]) for r in d["rows"] if r["tool"] == "converge"] or [0])
    out.append("")
    out.append("Peak RSS of converge (client and server) at most 200 MiB at every step: %s "
               "(largest: %s MiB)." % ("yes" if worst <= RSS_LIMIT_KIB else "**no**", mib(worst)))
    return "\n".join(out)


def growth_table(small, big):
    out = ["### Growth: 1,000,000 against 100,000 files", "",
           "| step | tool | 100k | 1m | 1m / 100k | <= 12x | RSS client / server MiB, 100k -> 1m |",
           "|---|---|---:|---:|---:|---|---|"]
    s = {(r["row"], r["tool"]): r for r in small["rows"]}
    for r in big["rows"]:
        k = (r["row"], r["tool"])
        if k not in s or not s[k]["secs"]:
            continue
        a = s[k]
        g = r["secs"] / a["secs"]
        ok = ("yes" if g <= MAX_GROWTH else "**no**") if r["tool"] == "converge" else ""
        srv = lambda d: mib(d["srv"]) if d["srv"] else "-"
        out.append("| %s | %s | %.3f s | %.3f s | %.1fx | %s | %s / %s -> %s / %s |" %
                   (r["row"], r["tool"], a["secs"], r["secs"], g, ok, mib(a["rss"]), srv(a),
                    mib(r["rss"]), srv(r)))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    for k in ("size", "files", "dirs", "bytes", "make-secs", "load-before", "load-after",
              "commit", "store-converge", "store-git", "out"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    text = open(a.out).read() if os.path.exists(a.out) else "# Benchmark results\n"
    old = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), text, re.S)
    data = {}
    if old:
        m = DATA.search(old.group(0))
        if m:
            data = json.loads(m.group(1))
    data[a.size] = {
        "files": int(a.files), "dirs": int(a.dirs), "bytes": int(a.bytes),
        "make_secs": a.make_secs, "commit": a.commit, "load_before": a.load_before,
        "load_after": a.load_after, "store_converge": int(a.store_converge),
        "store_git": int(a.store_git),
        "when": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "rows": read_tsv(a.tsv)}
    parts = [HEAD]
    for s in SIZES:
        if s in data:
            parts.append(size_table(data[s]))
    if all(s in data for s in SIZES):
        parts.append(growth_table(data["100k"], data["1m"]))
    section = "\n\n".join(parts)
    print(section)
    block = "%s\n%s\n\n<!-- million-data %s -->\n%s" % (BEGIN, section,
                                                         json.dumps(data, sort_keys=True), END)
    if old:
        text = text[:old.start()] + block + text[old.end():]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(a.out, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
