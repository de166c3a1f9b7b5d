#!/usr/bin/env python3
"""Turns bench/run.sh measurements into a table: printed, and written into
RESULTS.md between the markers of this corpus size (other sections, and the
blocks bench/engines.sh and bench/million.sh write, are kept).

  report.py RESULTS_TSV LIMITS_TXT --size S --files N --bytes B --rounds R
            --load-before L --load-after L --commit C --out RESULTS.md

RESULTS_TSV holds one line per step and round: row, tool, seconds, client
peak RSS KiB, server peak RSS KiB, bytes sent, round. Each row shows the
median of the rounds (and every run), judged against issue 14's targets.
"""
import argparse
import datetime
import os
import platform
import re
import statistics
import subprocess

RSS_LIMIT_KIB = 100 * 1024
# Blocks other scripts write (bench/engines.sh, bench/million.sh): kept as
# they are, and a new size section goes above the first of them.
FOREIGN = [("<!-- engines:begin -->", "<!-- engines:end -->"),
           ("<!-- million:begin -->", "<!-- million:end -->")]
# Issue 14's targets. row -> conditions (kind, value): "ratio": converge/git
# of the median times at most value; "bytes_ratio": converge's median bytes
# sent at most value times git's; "bytes": converge sends under value bytes.
TARGETS = {
    "1 cold snap": [("ratio", 0.15)],
    "2a re-snap, unchanged": [("ratio", 0.5)],
    "2b re-snap, 1% changed": [("ratio", 0.3)],
    "3a publish, first": [("ratio", 0.15), ("bytes_ratio", 1)],
    "3b publish, 1% changed": [("ratio", 0.3), ("bytes_ratio", 3)],
    "4 fetch + restore": [("ratio", 0.35)],
    "5d 1-byte change in binary: publish": [("bytes", 1 << 20)],
}
# The cold snap's share of the hash bound issue 14 wants on the large corpus.
HASH_SHARE_TARGET = 50


def mib(kib):
    return "%.0f" % (int(kib) / 1024.0)


def human(n):
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%.0f %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= 1024


def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    fs = subprocess.run(["df", "-T", "/tmp"], capture_output=True, text=True).stdout.split("\n")
    fstype = fs[1].split()[1] if len(fs) > 1 and fs[1] else "?"
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return ("%s, %d cores, %.0f GiB RAM, %s %s, /tmp on %s; %s" %
            (cpu, os.cpu_count(), mem, platform.system(), platform.release(), fstype, git))


def judge(row, cvg, git):
    """(target text, met text) of a row; cvg and git are its medians."""
    conds = TARGETS.get(row)
    if not conds:
        return "", ""
    texts, verdicts = [], []
    for kind, v in conds:
        if kind == "ratio":
            texts.append("<= %gx git" % v)
            verdicts.append(("time", cvg["secs"] <= v * git["secs"]))
        elif kind == "bytes_ratio":
            texts.append("bytes <= git's" if v == 1 else "bytes <= %gx git's" % v)
            verdicts.append(("bytes", cvg["bytes"] <= v * git["bytes"]))
        else:
            texts.append("< %s sent" % human(v))
            verdicts.append(("bytes", cvg["bytes"] < v))
    yes = lambda ok: "yes" if ok else "**no**"
    if len(verdicts) == 1:
        return "; ".join(texts), yes(verdicts[0][1])
    return "; ".join(texts), ", ".join("%s %s" % (what, yes(ok)) for what, ok in verdicts)


def secs_text(s):
    return "%.2f" % s if s >= 10 else "%.3f" % s


def load(tsv):
    """rows in first-seen order, and (row, tool) -> list of runs in round order."""
    rows, runs = [], {}
    for line in open(tsv):
        f = line.rstrip("\n").split("\t")
        row, tool, secs, rss, srv, sent = f[:6]
        rnd = int(f[6]) if len(f) > 6 else len(runs.get((row, tool), []))
        if row not in rows:
            rows.append(row)
        runs.setdefault((row, tool), []).append(
            {"round": rnd, "secs": float(secs), "rss": int(rss), "srv": int(srv),
             "bytes": int(sent)})
    for v in runs.values():
        v.sort(key=lambda d: d["round"])
    return rows, runs


def summary(runs):
    """The median time and bytes over the rounds, the peak RSS over them."""
    return {"secs": statistics.median(d["secs"] for d in runs),
            "bytes": statistics.median(d["bytes"] for d in runs),
            "rss": max(d["rss"] for d in runs), "srv": max(d["srv"] for d in runs),
            "each": ", ".join(secs_text(d["secs"]) for d in runs)}


def first_rounds(rounds, tool):
    """1-based rounds in which TOOL went first (run.sh: converge in even
    0-based rounds, git in odd ones)."""
    parity = 0 if tool == "converge" else 1
    return [str(r + 1) for r in range(rounds) if r % 2 == parity]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("limits")
    for k in ("size", "files", "bytes", "rounds", "load-before", "load-after", "commit", "out"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()

    rows, runs = load(a.tsv)
    data = {k: summary(v) for k, v in runs.items()}
    limits = {}
    for line in open(a.limits):
        name, value, _ = line.split()
        limits[name] = float(value)

    rounds = int(a.rounds)
    order = "converge first in round%s %s" % ("s" if len(first_rounds(rounds, "converge")) > 1
                                               else "", ", ".join(first_rounds(rounds, "converge")))
    if rounds > 1:
        gf = first_rounds(rounds, "git")
        order += ", git in round%s %s" % ("s" if len(gf) > 1 else "", ", ".join(gf))
    out = []
    out.append("Corpus: %s files, %s. Converge %s. %d round%s: in each, each tool runs every row "
               "from nothing (a fresh workspace or repository, a fresh server side), %s; a `sync` "
               "before every step. Load average (1/5/15 min) before the first round: %s, after "
               "the last: %s. Run %s." %
               (a.files, human(a.bytes), a.commit, rounds, "s" if rounds > 1 else "", order,
                a.load_before, a.load_after,
                datetime.datetime.now().strftime("%Y-%m-%d %H:%M")))
    out.append("")
    out.append("Machine: " + machine())
    out.append("")
    out.append("Times are the median of the rounds (each run in round order beside it), "
               "converge/git is of the medians, RSS the peak over the rounds, bytes sent the "
               "median (converge: every byte it sent, its `--json` `bytes_sent`; git: the "
               "receive-pack request bodies). Targets: issue 14's.")
    out.append("")
    out.append("| step | converge | git | converge/git | converge runs (s) | git runs (s) | "
               "target (issue 14) | met | converge RSS client/server MiB | "
               "git RSS client/server MiB | bytes sent converge / git |")
    out.append("|---|---:|---:|---:|---|---|---|---|---:|---:|---:|")
    rss_over = []
    for row in rows:
        c, g = data.get((row, "converge")), data.get((row, "git"))
        if not c or not g:
            continue
        target, met = judge(row, c, g)
        ratio = c["secs"] / g["secs"] if g["secs"] > 0 else float("inf")
        if c["rss"] >= RSS_LIMIT_KIB or c["srv"] >= RSS_LIMIT_KIB:
            rss_over.append(row)
        srv = lambda d: mib(d["srv"]) if d["srv"] else "-"
        sent = "%s / %s" % (human(c["bytes"]), human(g["bytes"])) if c["bytes"] or g["bytes"] else ""
        out.append("| %s | %.3f s | %.3f s | %.2f | %s | %s | %s | %s | %s / %s | %s / %s | %s |" %
                   (row, c["secs"], g["secs"], ratio, c["each"], g["each"], target, met,
                    mib(c["rss"]), srv(c), mib(g["rss"]), srv(g), sent))
    out.append("")
    out.append("Peak RSS of converge (client and server) under 100 MiB at every step (issue 14): %s." %
               ("yes" if not rss_over else "**no** (%s)" % ", ".join(rss_over)))
    out.append("")

    # How close converge comes to this machine's limits.
    cores = limits.get("cores", 1)
    hash_all = limits.get("hash_core", 0) * cores
    out.append("Machine limits, measured in the same run: disk write %.0f MB/s (with fdatasync), "
               "disk read %.0f MB/s (O_DIRECT), BLAKE2b %.0f MB/s per core (%.0f MB/s on %d "
               "cores), loopback TCP %.0f MB/s. Converge's rate is of its median time; issue 14 "
               "wants the cold snap at %d %% or more of the hash bound on the large corpus." %
               (limits.get("disk_write", 0), limits.get("disk_read", 0),
                limits.get("hash_core", 0), hash_all, cores, limits.get("loopback", 0),
                HASH_SHARE_TARGET))
    out.append("")
    out.append("| step | converge MB/s | bound | bound MB/s | share of bound | target | met |")
    out.append("|---|---:|---|---:|---:|---|---|")
    corpus = float(a.bytes)
    bounds = [
        ("1 cold snap", corpus, "hash on all cores", hash_all),
        ("3a publish, first", None, "loopback", limits.get("loopback", 0)),
        ("4 fetch + restore", corpus, "disk write", limits.get("disk_write", 0)),
        ("5b add 200 MiB binary: publish", None, "loopback", limits.get("loopback", 0)),
    ]
    for row, nbytes, name, bound in bounds:
        c = data.get((row, "converge"))
        if not c or not bound:
            continue
        n = nbytes if nbytes is not None else c["bytes"]
        rate = n / c["secs"] / 1e6
        share = 100 * rate / bound
        target, met = "", ""
        if row == "1 cold snap":
            target = ">= %d %% (large corpus)" % HASH_SHARE_TARGET
            met = ("yes" if share >= HASH_SHARE_TARGET else "**no**") if a.size == "large" else "-"
        out.append("| %s | %.0f | %s | %.0f | %.0f%% | %s | %s |" % (row, rate, name, bound,
                                                                     share, target, met))
    section = "\n".join(out)
    print(section)

    begin, end = "<!-- begin %s -->" % a.size, "<!-- end %s -->" % a.size
    block = "%s\n## %s corpus\n\n%s\n%s" % (begin, a.size.capitalize(), section, end)
    text = open(a.out).read() if os.path.exists(a.out) else (
        "# Benchmark results: converge vs git\n\nWritten by `bench/run.sh` (see "
        "`bench/README.md`); the sections between markers are replaced on each run.\n\n")
    foreign = [m for m in (re.search(re.escape(b) + ".*?" + re.escape(e), text, re.S)
                           for b, e in FOREIGN) if m]
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: block, text,
                      flags=re.S)
    elif foreign:
        first = min(m.start() for m in foreign)
        text = text[:first] + block + "\n\n" + text[first:]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    for m in foreign:
        if m.group(0) not in text:
            text = text.rstrip("\n") + "\n\n" + m.group(0) + "\n"
    with open(a.out, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
