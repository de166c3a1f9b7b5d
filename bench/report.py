#!/usr/bin/env python3
"""Turns bench/run.sh measurements into a table: printed, and written into
RESULTS.md between the markers of this corpus size (other sections, and the
blocks bench/engines.sh and bench/million.sh write, are kept).

  report.py RESULTS_TSV LIMITS_TXT --size S --files N --bytes B
            --load-before L --load-after L --commit C --out RESULTS.md
"""
import argparse
import datetime
import os
import platform
import re
import subprocess

RSS_LIMIT_KIB = 100 * 1024
# Blocks other scripts write (bench/engines.sh, bench/million.sh): kept as
# they are, and a new size section goes above the first of them.
FOREIGN = [("<!-- engines:begin -->", "<!-- engines:end -->"),
           ("<!-- million:begin -->", "<!-- million:end -->")]
# row -> (kind, value): "ratio" converge/git at most value; "secs" converge
# under value seconds; "bytes" converge sends under value bytes; None: shown only.
TARGETS = {
    "1 cold snap": ("ratio", 0.5),
    "2a re-snap, unchanged": ("secs", 0.3),
    "2b re-snap, 1% changed": ("ratio", 0.5),
    "3a publish, first": ("ratio", 0.5),
    "3b publish, 1% changed": ("ratio", 0.5),
    "4 fetch + restore": ("ratio", 0.5),
    "5d 1-byte change in binary: publish": ("bytes", 1 << 20),
}


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
    t = TARGETS.get(row)
    if not t:
        return "", ""
    kind, v = t
    if kind == "ratio":
        return "<= %.1fx git" % v, "yes" if cvg["secs"] <= v * git["secs"] else "**no**"
    if kind == "secs":
        return "< %.1f s" % v, "yes" if cvg["secs"] < v else "**no**"
    return "< %s sent" % human(v), "yes" if cvg["bytes"] < v else "**no**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("limits")
    for k in ("size", "files", "bytes", "load-before", "load-after", "commit", "out"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()

    rows, data = [], {}
    for line in open(a.tsv):
        row, tool, secs, rss, srv, sent = line.rstrip("\n").split("\t")
        if row not in rows:
            rows.append(row)
        data[(row, tool)] = {"secs": float(secs), "rss": int(rss), "srv": int(srv),
                             "bytes": int(sent)}
    limits = {}
    for line in open(a.limits):
        name, value, _ = line.split()
        limits[name] = float(value)

    out = []
    out.append("Corpus: %s files, %s. Converge %s. Load average (1/5/15 min) before: %s, "
               "after: %s. Run %s." % (a.files, human(a.bytes), a.commit, a.load_before,
                                       a.load_after,
                                       datetime.datetime.now().strftime("%Y-%m-%d %H:%M")))
    out.append("")
    out.append("Machine: " + machine())
    out.append("")
    out.append("| step | converge | git | converge/git | target | met | converge RSS "
               "client/server MiB | git RSS client/server MiB | bytes sent converge / git |")
    out.append("|---|---:|---:|---:|---|---|---:|---:|---:|")
    rss_ok = True
    for row in rows:
        c, g = data.get((row, "converge")), data.get((row, "git"))
        if not c or not g:
            continue
        target, met = judge(row, c, g)
        ratio = c["secs"] / g["secs"] if g["secs"] > 0 else float("inf")
        for d in (c, g):
            pass
        if c["rss"] > RSS_LIMIT_KIB or c["srv"] > RSS_LIMIT_KIB:
            rss_ok = False
        srv = lambda d: mib(d["srv"]) if d["srv"] else "-"
        sent = "%s / %s" % (human(c["bytes"]), human(g["bytes"])) if c["bytes"] or g["bytes"] else ""
        out.append("| %s | %.3f s | %.3f s | %.2f | %s | %s | %s / %s | %s / %s | %s |" %
                   (row, c["secs"], g["secs"], ratio, target, met, mib(c["rss"]), srv(c),
                    mib(g["rss"]), srv(g), sent))
    out.append("")
    out.append("Peak RSS of converge (client and server) under 100 MiB at every step: %s." %
               ("yes" if rss_ok else "**no**"))
    out.append("")

    # How close converge comes to this machine's limits.
    cores = limits.get("cores", 1)
    hash_all = limits.get("hash_core", 0) * cores
    out.append("Machine limits, measured in the same run: disk write %.0f MB/s (with fdatasync), "
               "disk read %.0f MB/s (O_DIRECT), BLAKE2b %.0f MB/s per core (%.0f MB/s on %d "
               "cores), loopback TCP %.0f MB/s." %
               (limits.get("disk_write", 0), limits.get("disk_read", 0),
                limits.get("hash_core", 0), hash_all, cores, limits.get("loopback", 0)))
    out.append("")
    out.append("| step | converge MB/s | bound | bound MB/s | share of bound |")
    out.append("|---|---:|---|---:|---:|")
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
        out.append("| %s | %.0f | %s | %.0f | %.0f%% |" % (row, rate, name, bound,
                                                         100 * rate / bound))
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
