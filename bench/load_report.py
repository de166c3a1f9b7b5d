#!/usr/bin/env python3
"""Writes one converge_load run into LOAD.md: its configuration's section
(between <!-- load CONFIG:begin --> and <!-- load CONFIG:end -->, replaced; the
other configurations' sections and any text outside the markers are kept) and
the table at the top, rebuilt from every section's summary.

  load_report.py --summary SUMMARY.json --report REPORT.md --command TEXT
                 --load-before L --load-after L --commit C --out LOAD.md
"""
import argparse
import datetime
import json
import os
import re

TABLE_BEGIN, TABLE_END = "<!-- load table:begin -->", "<!-- load table:end -->"
SUMMARY = re.compile(r"<!-- summary (\{.*?\}) -->")
INTRO = """# Load test

Written by `bench/load.sh` (see `bench/README.md`): `converge_load` runs many users at once
against real `converge serve` nodes on loopback. Each user takes a snap (20 files shared by all,
5 every user changes alike at each step, 5 of its own), publishes it, and fetches everyone's
publications every 10 snaps; at the end every publication is fetched and verified and
`serve --fsck` must be clean. Latencies are per call, from the client, with all users running
at once. The users run in the same process on the same machine as the nodes (and PostgreSQL),
so they share its cores: the CPU column says where the time went. Each configuration is its
own run: compare their load averages.

"""


def table(sections):
    rows = []
    for cfg, s in sections:
        rows.append(((not cfg.endswith("SQLite")), s["nodes"], cfg, s))
    rows.sort()
    out = [TABLE_BEGIN,
           "| configuration | users x snaps | publications/s | wall s | publish p50 / p99 ms | "
           "fetch p50 / p99 ms | CPU s: users / serve / PostgreSQL (of cores x wall) | "
           "errors, fsck | load average before -> after | run |",
           "|---|---|---:|---:|---:|---:|---|---|---|---|"]
    for _, _, cfg, s in rows:
        pg = "-" if s.get("cpu_postgres_s") is None else "%.0f" % s["cpu_postgres_s"]
        out.append("| %s | %d x %d | %.1f | %.1f | %.0f / %.0f | %.0f / %.0f | %.0f / %.0f / %s "
                   "(%.0f) | %d, %s | %s -> %s | %s, %s |" %
                   (cfg, s["users"], s["snaps"], s["publications_per_s"], s["wall_s"],
                    s["publish_p50_ms"], s["publish_p99_ms"], s["fetch_p50_ms"],
                    s["fetch_p99_ms"], s["cpu_users_s"], s["cpu_serve_s"], pg,
                    s["cores"] * s["wall_s"], s["errors"],
                    "clean" if s["fsck_clean"] else "**FAILED**", s["load_before"],
                    s["load_after"], s["date"], s["commit"]))
    out.append(TABLE_END)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    for k in ("summary", "report", "command", "load-before", "load-after", "commit", "out"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    s = json.load(open(a.summary))
    s.update({"load_before": a.load_before, "load_after": a.load_after, "commit": a.commit,
              "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")})
    cfg = s["configuration"]
    begin, end = "<!-- load %s:begin -->" % cfg, "<!-- load %s:end -->" % cfg
    section = "\n".join([
        begin, "## %s" % cfg, "",
        "`%s` on %s, commit %s; load average (1/5/15 min) before: %s, after: %s." %
        (a.command, s["date"], a.commit, a.load_before, a.load_after),
        "<!-- summary %s -->" % json.dumps(s, sort_keys=True), "",
        open(a.report).read().rstrip("\n"), end])

    text = open(a.out).read() if os.path.exists(a.out) else ""
    if TABLE_BEGIN not in text:  # the one-run file of before: start over
        text = INTRO + TABLE_BEGIN + "\n" + TABLE_END + "\n"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: section, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    sections = []
    for m in re.finditer(r"<!-- load (.+?):begin -->(.*?)<!-- load \1:end -->", text, re.S):
        if m.group(1) == "table":
            continue
        found = SUMMARY.search(m.group(2))
        if found:
            sections.append((m.group(1), json.loads(found.group(1))))
    text = re.sub(re.escape(TABLE_BEGIN) + ".*?" + re.escape(TABLE_END),
                  lambda m: table(sections), text, flags=re.S)
    with open(a.out, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
