#!/usr/bin/python3
"""How often fer-react's reaction has the right sign, on listening sessions built from faces.

Real faces, a made-up listener: the faces are those of FER2013's validation split, read by
fer-classify (the shipped model) as they would be read from a camera; the sessions are
built from them with known answers. A session is songs in a row, with a pause between
them; between songs the listener's face is neutral (FER2013 neutral faces), and during a
song it is neutral except for a share of its frames: happy faces for a song the listener
likes, faces with lowered brows (sad, angry, disgust) for one they dislike. The share, how
expressive the listener is, is drawn per song. fer-react then judges every song, and the
table says how often the reaction's sign is the listener's, by share; "face only" is the
same for the sign of valence_during - valence_before alone, without the brief expressions,
and "brief" the brief expressions listed per song.

A face of FER2013 is a different person in every frame, and each frame is one photo rather
than a moment of a video, so this measures what the classifier and fer-react's arithmetic
make of expressions, not how a real listener's face moves.

  scripts/bench/react.py [--val DIR] [--sessions N] [--songs N] [--seed N] [--bin DIR]
Exit status: 0 when the sign is right for at least 80% of the songs with a share of 0.2 or
more, 1 otherwise, 2 when it cannot run (no FER2013, no build).
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIKE, DISLIKE = "like", "dislike"


def classify(bin_dir, paths):
    """fer-classify's record of each face image, by path."""
    out = subprocess.run([os.path.join(bin_dir, "fer-classify")], input="\n".join(paths) + "\n",
                         capture_output=True, text=True, check=True).stdout
    recs = {}
    for line in out.splitlines():
        r = json.loads(line)
        if "error" not in r:
            recs[r["path"]] = r
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--val", default=os.path.join(ROOT, "..", "shared", "fer2013", "val"))
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--songs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--fps", type=float, default=5)
    ap.add_argument("--song-sec", type=float, default=30)
    ap.add_argument("--pause-sec", type=float, default=3)
    ap.add_argument("--pool", type=int, default=300, help="faces per kind")
    a = ap.parse_args()
    if not os.path.isdir(a.val):
        print("react.py: no FER2013 validation split at %s" % a.val, file=sys.stderr)
        return 2
    rng = random.Random(a.seed)

    def pool(*kinds):
        files = [os.path.join(a.val, k, f) for k in kinds
                 for f in sorted(os.listdir(os.path.join(a.val, k)))]
        return rng.sample(files, min(a.pool, len(files)))

    kinds = {"neutral": pool("neutral"), LIKE: pool("happy"),
             DISLIKE: pool("sad", "angry", "disgust")}
    recs = classify(a.bin, [p for v in kinds.values() for p in v])
    faces = {k: [recs[p]["faces"] for p in v if p in recs] for k, v in kinds.items()}

    results = []  # (truth, share, reaction, rating)
    for s in range(a.sessions):
        frames, plays, truths = [], [], []
        t, n = 0.0, 0

        def add(seconds, kind=None, share=0.0):
            nonlocal t, n
            for _ in range(int(round(seconds * a.fps))):
                k = kind if kind and rng.random() < share else "neutral"
                frames.append({"frame": n, "t": round(t, 4), "faces": rng.choice(faces[k])})
                n += 1
                t += 1 / a.fps

        for k in range(a.songs):
            add(a.pause_sec)
            truth = rng.choice([LIKE, DISLIKE])
            share = rng.uniform(0.05, 0.5)
            start = round(t, 4)
            add(a.song_sec, truth, share)
            plays.append({"path": "s%d-%d.wav" % (s, k), "start": start,
                          "end": round(t - 1 / a.fps, 4)})
            truths.append((truth, share))
        add(a.pause_sec)
        with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
            f.write("".join(json.dumps(p) + "\n" for p in plays))
            plays_path = f.name
        try:
            out = subprocess.run(
                [os.path.join(a.bin, "fer-react"), "--plays", plays_path],
                input="".join(json.dumps(x, separators=(",", ":")) + "\n" for x in frames),
                capture_output=True, text=True, check=True).stdout
        finally:
            os.unlink(plays_path)
        for (truth, share), line in zip(truths, out.splitlines()):
            r = json.loads(line)
            results.append((truth, share, r["reaction"], r["rating"],
                            None if r["valence_during"] is None else
                            r["valence_during"] - r["valence_before"], len(r["brief"])))

    def right(x, k=2):
        truth, reaction = x[0], x[k]
        return reaction is not None and (reaction > 0 if truth == LIKE else reaction < 0)

    print("sessions %d, songs %d, %g fps, songs of %g s after %g s pauses, faces from %s" % (
        a.sessions, len(results), a.fps, a.song_sec, a.pause_sec, os.path.relpath(a.val)))
    print("%-14s %6s %10s %14s %14s %10s %7s" % ("share", "songs", "sign right", "mean like",
                                              "mean dislike", "face only", "brief"))
    bins = [(0.05, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.5), (0.05, 0.5)]
    for lo, hi in bins:
        sel = [x for x in results if lo <= x[1] < hi or (hi == 0.5 and x[1] == 0.5)]
        if not sel:
            continue
        like = [x[2] for x in sel if x[0] == LIKE and x[2] is not None]
        dis = [x[2] for x in sel if x[0] == DISLIKE and x[2] is not None]
        print("%-14s %6d %9.1f%% %14.3f %14.3f %9.1f%% %7.1f" % (
            "%.2f .. %.2f" % (lo, hi) if (lo, hi) != (0.05, 0.5) else "all", len(sel),
            100 * sum(map(right, sel)) / len(sel),
            sum(like) / len(like) if like else float("nan"),
            sum(dis) / len(dis) if dis else float("nan"),
            100 * sum(right(x, 4) for x in sel) / len(sel), sum(x[5] for x in sel) / len(sel)))
    ratings = {}
    for truth, _, _, rating, _, _ in results:
        ratings.setdefault(truth, []).append(rating)
    for truth in (LIKE, DISLIKE):
        r = ratings.get(truth, [])
        print("ratings when the listener %ss: %s" % (
            truth, " ".join("%s:%d" % (v, r.count(v)) for v in (1, 2, 3, 4, 5, None))))
    strong = [x for x in results if x[1] >= 0.2]
    return 0 if strong and sum(map(right, strong)) >= 0.8 * len(strong) else 1


if __name__ == "__main__":
    sys.exit(main())
