#!/usr/bin/env python3
"""Median table of the runs written by benches/peers.sh, with ratios to word2vec.c.

  peers_table.py RUNDIR --corpus-words N --epochs 5
"""
import argparse
import glob
import json
import os
import re
import statistics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rundir")
    ap.add_argument("--corpus-words", type=int, required=True)
    ap.add_argument("--epochs", type=int, default=5)
    a = ap.parse_args()
    groups = {}
    for path in glob.glob(os.path.join(a.rundir, "*_r[0-9]*.json")):
        name = os.path.basename(path)[:-5]
        m = re.fullmatch(r"(\w+?)_(sg|cbow)_t(\d+)_r(\d+)", name)
        if not m:
            continue
        tool, model, t = m.group(1), m.group(2), int(m.group(3))
        run = json.load(open(path))
        train_s = run.get("train_s")
        if tool == "gensim":
            gj = path[:-5] + ".gensim.json"
            if os.path.exists(gj):
                train_s = json.load(open(gj)).get("train_s", train_s)
        if not train_s:
            continue
        ev_path = path[:-5] + ".eval.json"
        ev = json.load(open(ev_path)) if os.path.exists(ev_path) else {}
        g = groups.setdefault((model, t, tool), {"wps": [], "rss": [], "ev": []})
        g["wps"].append(a.corpus_words * a.epochs / train_s)
        g["rss"].append(run.get("max_rss_kib", 0) / 1024)
        g["ev"].append(ev)

    def score(ev, key):
        if key == "analogy":
            for k, v in ev.get("analogy", {}).items():
                return v.get("total_acc", v.get("accuracy"))
            return None
        for k, v in ev.get("similarity", {}).items():
            if key in k:
                return v.get("rho", v.get("spearman"))
        return None

    print("| model | threads | tool | runs | median words/s/thread | vs word2vec.c | peak RSS MiB | analogy % | WS-353 | SimLex | MEN |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (model, t, tool) in sorted(groups, key=lambda k: (k[0], k[1], k[2] != "huffvec", k[2])):
        g = groups[(model, t, tool)]
        wps = statistics.median(g["wps"]) / t
        ref = groups.get((model, t, "w2vc"))
        ratio = f"{wps / (statistics.median(ref['wps']) / t):.2f}x" if ref else "-"
        cells = []
        for key in ("analogy", "WS-353", "SIMLEX", "MEN"):
            vals = [score(e, key) for e in g["ev"] if score(e, key) is not None]
            cells.append(f"{statistics.median(vals):.3f}" if vals else "-")
        print(f"| {model} | {t} | {tool} | {len(g['wps'])} | {wps / 1000:.0f}k | {ratio} | "
              f"{statistics.median(g['rss']):.0f} | " + " | ".join(cells) + " |")
    for model in ("sg", "cbow"):
        for tool in ("huffvec", "w2vc"):
            one, two = groups.get((model, 1, tool)), groups.get((model, 2, tool))
            if one and two:
                eff = statistics.median(two["wps"]) / (2 * statistics.median(one["wps"]))
                print(f"2-thread efficiency {model} {tool}: {eff:.2f}")


if __name__ == "__main__":
    main()
