#!/usr/bin/python3
"""Measure the mood profiles on a music-emotion set labelled by Russell quadrant (moodset.sh).

For each half of the set (and the whole), the half's songs alone are the library: recommend
ranks all of them for each expression, and this counts how many of the top 10 and the top 50
are in the quadrant where the circumplex places the expression, and the AUC of the ranking
for that quadrant against the rest (0.5 is chance, 1 every song of the quadrant first).

  moodset.py SONGS LABELS [--recommend BIN] [--profiles FILE] [--halves all,tune,held]

SONGS: song-featurize's records of the set; LABELS: lines "file.mp3<TAB>Q1".
The halves: a clip is in the tuning half when the SHA-1 of its file name is even, else in
the held-out half; a fixed split that does not depend on the order of the files or on their
quadrant.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

EMOTIONS = ["happy", "surprise", "angry", "fear", "disgust", "sad", "neutral"]
# The quadrant where the circumplex places each expression: Q1 positive and aroused, Q2
# negative and aroused, Q3 negative and calm, Q4 positive and calm (neutral leans calm).
QUADRANT = {"happy": "Q1", "surprise": "Q1", "angry": "Q2", "fear": "Q2", "disgust": "Q2",
            "sad": "Q3", "neutral": "Q4"}


def half_of(name):
    return "tune" if int(hashlib.sha1(name.encode()).hexdigest(), 16) % 2 == 0 else "held"


def auc(labels_in_order, positive):
    """Area under the ROC curve of a ranking: the share of (positive, negative) pairs in
    which the positive is ranked first."""
    pos = neg = above = 0
    for q in labels_in_order:
        if q == positive:
            pos += 1
        else:
            neg += 1
            above += pos
    return above / (pos * neg) if pos and neg else float("nan")


def measure(rec, lib, profiles, quad_of):
    out = {}
    n = sum(1 for _ in open(lib))
    for e in EMOTIONS:
        cmd = [rec, "--library", lib, "--emotion", e, "-n", str(n)]
        if profiles:
            cmd += ["--profiles", profiles]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        order = [quad_of[os.path.basename(json.loads(l)["path"])]
                 for l in res.stdout.splitlines() if l.strip()]
        want = QUADRANT[e]
        out[e] = {"top10": sum(q == want for q in order[:10]),
                  "top50": sum(q == want for q in order[:50]),
                  "q10": {k: sum(q == k for q in order[:10]) for k in ("Q1", "Q2", "Q3", "Q4")},
                  "auc": auc(order, want), "ranked": len(order)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("songs")
    ap.add_argument("labels")
    ap.add_argument("--recommend", default="build/bin/recommend")
    ap.add_argument("--profiles")
    ap.add_argument("--halves", default="all,tune,held")
    ap.add_argument("--json", action="store_true", help="one JSON object per half")
    a = ap.parse_args()
    quad_of = dict(l.rstrip("\n").split("\t") for l in open(a.labels) if l.strip())
    recs = {}
    for l in open(a.songs):
        if not l.strip():
            continue
        r = json.loads(l)
        name = os.path.basename(r.get("path", ""))
        if name in quad_of and "error" not in r:
            recs.setdefault("all", []).append(l)
            recs.setdefault(half_of(name), []).append(l)
    with tempfile.TemporaryDirectory() as tmp:
        for h in a.halves.split(","):
            lines = recs.get(h, [])
            lib = os.path.join(tmp, h + ".ndjson")
            with open(lib, "w") as f:
                f.writelines(lines)
            counts = {}
            for l in lines:
                q = quad_of[os.path.basename(json.loads(l)["path"])]
                counts[q] = counts.get(q, 0) + 1
            m = measure(a.recommend, lib, a.profiles, quad_of)
            if a.json:
                print(json.dumps({"half": h, "songs": len(lines), "quadrants": counts, "emotions": m}))
                continue
            name = {"all": "whole set", "tune": "tuning half", "held": "held-out half"}[h]
            print(f"{name}: {len(lines)} songs ({', '.join(f'{k} {counts[k]}' for k in sorted(counts))})")
            print("  emotion   quadrant  top10  top50   AUC   top 10 by quadrant")
            for e in EMOTIONS:
                r = m[e]
                print(f"  {e:<9} {QUADRANT[e]:<9} {r['top10']:>3}/10 {r['top50']:>3}/50  {r['auc']:.3f}  "
                      + " ".join(f"{k} {v}" for k, v in r["q10"].items()))
            k = len(EMOTIONS)
            print(f"  mean                {sum(m[e]['top10'] for e in EMOTIONS) / k / 10:.2f}   "
                  f"{sum(m[e]['top50'] for e in EMOTIONS) / k / 50:.2f}   "
                  f"{sum(m[e]['auc'] for e in EMOTIONS) / k:.3f}   (precision at 10, at 50, AUC)")


if __name__ == "__main__":
    sys.exit(main())
