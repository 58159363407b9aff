#!/usr/bin/python3
"""How often fer-react gets the sign of a listener's reaction right (issue 13).

    /usr/bin/python3 scripts/bench/react.py [--bin DIR] [--val DIR] [--half held-out|tune]
                                             [--sessions N] [--songs N] [--seed N]

Listening sessions whose true reactions are known, built from the FER2013 validation faces
(../shared/fer2013/val, one folder per expression) and run through the real pipeline:

    frames | fer-detect --stream --fps 10 | fer-classify --smooth 1 | fer-react --plays P

Frames: each 48x48 face enlarged three times (bicubic) to 144x144 and centred on a plain
mid-gray 192x192 canvas, binary PGM, 10 frames a second. A face stays on screen for 2 to 6
frames (0.2-0.6 s) before the next one, as a face holds an expression for a moment.
Session: --songs songs (default 8: 3 liked, 3 disliked, 2 unchanged, in random order),
each after 6 s of neutral faces (the baseline fer-react compares with), each 15 s long.
During a song the face is neutral but for bursts of 0.5 to 2.5 s covering a share p of
the song, p drawn from 0.15 to 0.6: happy faces (one burst in five surprise) for a liked
song, sad, angry or disgust faces for a disliked one, none for an unchanged one. The
intended reaction is +p, -p or 0.

Faces: the validation faces are split in two halves by file name (CRC-32 of the name,
even: "tune", odd: "held-out"), so that constants tuned on one half are measured on the
other; the report is on --half (default held-out). FER2013's crops are tight, and the
cascade finds only some of them on a canvas: each face of the half is first put through
fer-detect alone (same options), the detection rate is reported per expression, and the
sessions use the faces it found (a webcam's frames show the whole head, which it finds).

Report: the sign accuracy over the liked and disliked songs (a reaction of 0 or null
counts as wrong), Pearson's correlation of "reaction" with the intended reaction over
all songs, the mean |reaction| of the unchanged songs, the mean rating of each kind.
Exit status: 0 when every play got a record, or when there are no validation faces (a
message says it skipped); 1 when some play got none; 2 on a usage error or missing tools.
"""
import argparse
import glob
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FPS = 10
SIDE, CANVAS, GRAY = 144, 192, 128
BASELINE_SEC, SONG_SEC = 6.0, 15.0
DETECT_ARGS = ["--min-size", "96"]  # the face is 144 px: no need to search smaller


def half_of(name):
    return "tune" if zlib.crc32(os.path.basename(name).encode()) % 2 == 0 else "held-out"


def load_faces(val, half):
    import cv2  # python3-opencv and numpy, from scripts/deps.sh bench
    import numpy as np

    faces = {}
    for e in EXPRESSIONS:
        files = sorted(f for f in glob.glob(os.path.join(val, e, "*")) if half_of(f) == half)
        faces[e] = []
        for f in files:
            g = cv2.imread(f, cv2.IMREAD_GRAYSCALE)
            if g is None:
                continue
            canvas = np.full((CANVAS, CANVAS), GRAY, np.uint8)
            o = (CANVAS - SIDE) // 2
            canvas[o:o + SIDE, o:o + SIDE] = cv2.resize(g, (SIDE, SIDE),
                                                        interpolation=cv2.INTER_CUBIC)
            faces[e].append(b"P5\n%d %d\n255\n" % (CANVAS, CANVAS) + canvas.tobytes())
    return faces


def detected(bindir, faces):
    """The faces fer-detect finds, per expression, and the rate."""
    order = [(e, i) for e in EXPRESSIONS for i in range(len(faces[e]))]
    out = run_pipeline([[os.path.join(bindir, "fer-detect"), "--stream", "--fps", str(FPS),
                         *DETECT_ARGS]], (faces[e][i] for e, i in order))
    kept = {e: [] for e in EXPRESSIONS}
    recs = [json.loads(x) for x in out]
    if len(recs) != len(order):
        sys.exit(f"bench-react: fer-detect gave {len(recs)} records for {len(order)} frames")
    for (e, i), r in zip(order, recs):
        if len(r.get("faces") or []) == 1:
            kept[e].append(faces[e][i])
    return kept


def run_pipeline(cmds, frames):
    """Feed frames to the first command of a pipeline; the last one's output lines."""
    procs = []
    for i, cmd in enumerate(cmds):
        procs.append(subprocess.Popen(cmd, stdin=subprocess.PIPE if i == 0 else procs[-1].stdout,
                                      stdout=subprocess.PIPE))
        if i:
            procs[-2].stdout.close()

    def feed():
        try:
            for f in frames:
                procs[0].stdin.write(f)
        except BrokenPipeError:
            pass
        finally:
            try:
                procs[0].stdin.close()
            except BrokenPipeError:
                pass

    t = threading.Thread(target=feed)
    t.start()
    out = procs[-1].stdout.read().decode().splitlines()
    t.join()
    for p in procs:
        p.wait()
    return out


def bursts(rng, n_frames, share):
    """Frame indices of bursts of 0.5-2.5 s that cover about share of n_frames."""
    marked = [False] * n_frames
    want = round(share * n_frames)
    tries = 0
    while sum(marked) < want and tries < 1000:
        tries += 1
        length = min(rng.randint(5, 25), want - sum(marked))
        if length < 3:
            break
        start = rng.randrange(0, n_frames - length)
        if any(marked[max(0, start - 3):start + length + 3]):
            continue
        for k in range(start, start + length):
            marked[k] = True
    return marked


def held(rng, pool, n):
    """n frames of faces drawn from pool, each held for 2 to 6 frames."""
    out = []
    while len(out) < n:
        out += [rng.choice(pool)] * rng.randint(2, 6)
    return out[:n]


def session(rng, faces, n_songs):
    """(frames, plays, truths) of one session."""
    kinds = (["liked"] * 3 + ["disliked"] * 3 + ["unchanged"] * 2) * (n_songs // 8 + 1)
    kinds = kinds[:n_songs]
    rng.shuffle(kinds)
    frames, plays, truths = [], [], []
    b, s = round(BASELINE_SEC * FPS), round(SONG_SEC * FPS)
    for k, kind in enumerate(kinds):
        frames += held(rng, faces["neutral"], b)
        start = len(frames)
        song = held(rng, faces["neutral"], s)
        p = rng.uniform(0.15, 0.6) if kind != "unchanged" else 0.0
        if p:
            marked = bursts(rng, s, p)
            p = sum(marked) / s
            i = 0
            while i < s:
                if not marked[i]:
                    i += 1
                    continue
                j = i
                while j < s and marked[j]:
                    j += 1
                if kind == "liked":
                    e = "surprise" if rng.random() < 0.2 else "happy"
                else:
                    e = rng.choices(["sad", "angry", "disgust"], [0.45, 0.45, 0.1])[0]
                song[i:j] = held(rng, faces[e], j - i)
                i = j
        frames += song
        plays.append({"path": f"song-{k + 1}.wav", "start": start / FPS,
                      "end": (start + s) / FPS, "kind": kind})
        truths.append(p if kind == "liked" else -p if kind == "disliked" else 0.0)
    frames += held(rng, faces["neutral"], 3 * FPS)  # the frames go past the last play's end
    return frames, plays, truths


def pearson(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench/react.py")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--val", default=os.path.join(ROOT, "..", "shared", "fer2013", "val"))
    ap.add_argument("--half", choices=["held-out", "tune"], default="held-out")
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--songs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--react-args", default="", help="more fer-react options")
    a = ap.parse_args()
    if a.sessions < 1 or a.songs < 1:
        ap.error("--sessions and --songs want 1 or more")
    for tool in ("fer-detect", "fer-classify", "fer-react"):
        if not os.access(os.path.join(a.bin, tool), os.X_OK):
            print(f"bench-react: {a.bin}/{tool} is not built", file=sys.stderr)
            return 2
    if not os.path.isdir(os.path.join(a.val, "neutral")):
        print(f"bench-react: skipped: no FER2013 validation faces in {a.val}")
        return 0

    faces = load_faces(a.val, a.half)
    total = sum(len(v) for v in faces.values())
    found = detected(a.bin, faces)
    n_found = sum(len(v) for v in found.values())
    print(f"fer-react's reaction sign on sessions built from FER2013 validation faces, "
          f"{a.half} half")
    print(f"faces: {total} in the half, {n_found} found by fer-detect {' '.join(DETECT_ARGS)} "
          f"on a {CANVAS}x{CANVAS} canvas ({100 * n_found / total:.0f}%): " +
          ", ".join(f"{e} {100 * len(found[e]) / max(1, len(faces[e])):.0f}%"
                    for e in EXPRESSIONS))
    for e in ("neutral", "happy", "surprise", "sad", "angry", "disgust"):
        if not found[e]:
            print(f"bench-react: no {e} face found; cannot build sessions", file=sys.stderr)
            return 2

    rng = random.Random(a.seed)
    truths, reactions, ratings, kinds = [], [], [], []
    missing = 0
    with tempfile.TemporaryDirectory(prefix="fermata-react.") as tmp:
        for n in range(a.sessions):
            frames, plays, truth = session(rng, found, a.songs)
            plays_path = os.path.join(tmp, f"plays-{n}.ndjson")
            with open(plays_path, "w") as f:
                for p in plays:
                    f.write(json.dumps(p) + "\n")
            out = run_pipeline([
                [os.path.join(a.bin, "fer-detect"), "--stream", "--fps", str(FPS), *DETECT_ARGS],
                [os.path.join(a.bin, "fer-classify"), "--smooth", "1"],
                [os.path.join(a.bin, "fer-react"), "--plays", plays_path, *a.react_args.split()],
            ], frames)
            recs = {}
            for line in out:
                r = json.loads(line)
                if "error" not in r:
                    recs[r.get("path")] = r
            for p, t in zip(plays, truth):
                r = recs.get(p["path"])
                if r is None:
                    missing += 1
                    continue
                truths.append(t)
                reactions.append(r.get("reaction"))
                ratings.append(r.get("rating"))
                kinds.append(p["kind"])

    signed = [(t, r) for t, r in zip(truths, reactions) if t != 0]
    right = sum(1 for t, r in signed if r is not None and r * t > 0)
    by_kind = {}
    for k in ("liked", "disliked"):
        pairs = [(t, r) for t, r, kk in zip(truths, reactions, kinds) if kk == k]
        by_kind[k] = (sum(1 for t, r in pairs if r is not None and r * t > 0), len(pairs))
    bands = []
    for lo, hi, name in ((0, 0.3, "under 0.3"), (0.3, 0.45, "0.3-0.45"), (0.45, 2, "0.45-0.6")):
        pairs = [(t, r) for t, r in signed if lo <= abs(t) < hi]
        ok = sum(1 for t, r in pairs if r is not None and r * t > 0)
        bands.append(f"{name} {ok}/{len(pairs)}")
    usable = [(t, r) for t, r in zip(truths, reactions) if r is not None]
    r_corr = pearson([t for t, _ in usable], [r for _, r in usable]) if len(usable) > 2 else float("nan")
    flat = [abs(r) for r, k in zip(reactions, kinds) if k == "unchanged" and r is not None]
    n_null = sum(1 for r in reactions if r is None)

    def mean_rating(k):
        v = [x for x, kk in zip(ratings, kinds) if kk == k and x is not None]
        return f"{sum(v) / len(v):.2f}" if v else "-"

    print(f"sessions: {a.sessions} x {a.songs} songs (liked, disliked, unchanged 3:3:2), "
          f"{BASELINE_SEC:g} s of neutral faces before each {SONG_SEC:g} s song, {FPS} frames/s, "
          f"seed {a.seed}")
    print(f"sign accuracy: {right}/{len(signed)} = {100 * right / max(1, len(signed)):.1f}% "
          f"(liked {by_kind['liked'][0]}/{by_kind['liked'][1]}, "
          f"disliked {by_kind['disliked'][0]}/{by_kind['disliked'][1]})")
    print("  by the share of the song's frames that show the reaction: " + ", ".join(bands))
    print(f"correlation of \"reaction\" with the intended reaction: r = {r_corr:.2f} "
          f"over {len(usable)} songs")
    print(f"unchanged songs: mean |reaction| {sum(flat) / max(1, len(flat)):.3f}; "
          f"mean rating: liked {mean_rating('liked')}, disliked {mean_rating('disliked')}, "
          f"unchanged {mean_rating('unchanged')}; no judgement: {n_null}; "
          f"plays without a record: {missing}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
