#!/usr/bin/python3
"""bench-taste: does recommend --feedback learn a listener's taste? (scripts/bench/taste.sh)

A simulated listener likes one kind of music and skips another: 10 songs of the liked kind
liked and 10 of the disliked kind skipped, drawn at random, all judged in the neutral mood.
Among the songs of the two kinds not judged, the pairwise AUC of the liked kind over the
disliked kind (the chance that a liked-kind song comes before a disliked-kind one, ties
half) is measured on recommend's ranking of the whole library, with --emotion neutral and
with --emotion happy (another mood: only the listener-wide part of the taste carries there),
before the feedback and after it. The reference is the plain linear learner of issue 13: the
difference of the liked and disliked centroids in the standardised descriptors (log tempo,
mode, loudness, dynamics, spectral shape, onset rate and the 13 MFCC means), fit to the same
20 judgements, its AUC on the same songs. Every ordered pair of kinds, several draws each;
the draws are split in two halves, one to tune the profiles' feedback numbers (--tune) and
the other held out, which is what is reported.
"""
import argparse
import itertools
import json
import math
import os
import random
import subprocess
import sys
import tempfile

MOODS = ("neutral", "happy")


def kind_of(path):
    parts = path.split("/")
    return parts[-2] if len(parts) >= 2 else ""


def features(rec):
    """The plain learner's descriptors: recommend's nine plus the MFCC means."""
    ks = rec.get("key_strength", 1)
    mode = (1 if rec.get("mode") == "major" else -1) * min(max(ks, 0), 1)
    x = [math.log2(rec["tempo"]), mode, min(max(rec["loudness"], -60), 0),
         rec["rms_std"] / rec["rms_mean"], math.log2(rec["centroid_mean"]),
         math.log2(rec["rolloff_mean"]), rec["flatness_mean"], rec["zcr_mean"],
         math.log2(1 + rec["onset_rate"])]
    return x + list(rec["mfcc_mean"])


def standardise(rows):
    n, dims = len(rows), len(rows[0])
    out = [[0.0] * dims for _ in rows]
    for d in range(dims):
        mu = sum(r[d] for r in rows) / n
        sd = math.sqrt(sum((r[d] - mu) ** 2 for r in rows) / n)
        for i, r in enumerate(rows):
            out[i][d] = (r[d] - mu) / sd if sd > 0 else 0.0
    return out


def auc(score, pos, neg):
    """Pairwise AUC of pos over neg by score (higher first), ties half."""
    won = 0.0
    for i in pos:
        for j in neg:
            won += 1.0 if score[i] > score[j] else 0.5 if score[i] == score[j] else 0.0
    return won / (len(pos) * len(neg))


def plain_learner(z, liked, skipped):
    dims = len(z[0])
    cp = [sum(z[i][d] for i in liked) / len(liked) for d in range(dims)]
    cn = [sum(z[i][d] for i in skipped) / len(skipped) for d in range(dims)]
    w = [a - b for a, b in zip(cp, cn)]
    return [sum(a * b for a, b in zip(row, w)) for row in z]


class Recommend:
    def __init__(self, binary, library, profiles, paths, tmp):
        self.binary, self.library, self.profiles = binary, library, profiles
        self.index = {p: i for i, p in enumerate(paths)}
        self.n = len(paths)
        self.tmp = tmp

    def scores(self, mood, feedback=None, profiles=None):
        """Each song's place in the ranking as a score: n for the first, 1 for the last."""
        cmd = [self.binary, "--library", self.library, "--emotion", mood, "-n", str(self.n),
               "--profiles", profiles or self.profiles, "--now", "1714588200"]
        if feedback is not None:
            cmd += ["--feedback", feedback]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        score = [0.0] * self.n
        lines = out.splitlines()
        for k, line in enumerate(lines):
            score[self.index[json.loads(line)["path"]]] = float(len(lines) - k)
        return score


def draws(by_kind, n_draws, n_judged, seed):
    """For every ordered pair of kinds, n_draws draws of liked and skipped songs."""
    rng = random.Random(seed)
    out = []
    for a, b in itertools.permutations(sorted(by_kind), 2):
        for d in range(n_draws):
            liked = rng.sample(by_kind[a], n_judged)
            skipped = rng.sample(by_kind[b], n_judged)
            pos = [i for i in by_kind[a] if i not in liked]
            neg = [i for i in by_kind[b] if i not in skipped]
            out.append({"pair": (a, b), "draw": d, "liked": liked, "skipped": skipped,
                        "pos": pos, "neg": neg})
    return out


def write_feedback(path, paths, draw):
    with open(path, "w") as f:
        for i in draw["liked"]:
            f.write(json.dumps({"path": paths[i], "emotion": "neutral", "action": "like"}) + "\n")
        for i in draw["skipped"]:
            f.write(json.dumps({"path": paths[i], "emotion": "neutral", "action": "skip"}) + "\n")


def evaluate(rec, paths, z, sample, profiles, tmp, before_cache):
    """Mean AUCs over sample: before, after, plain learner, per mood."""
    res = {m: {"before": [], "after": [], "plain": []} for m in MOODS}
    fb = os.path.join(tmp, "feedback.ndjson")
    for dr in sample:
        write_feedback(fb, paths, dr)
        plain = plain_learner(z, dr["liked"], dr["skipped"])
        for m in MOODS:
            if m not in before_cache:
                before_cache[m] = rec.scores(m, profiles=profiles)
            res[m]["before"].append(auc(before_cache[m], dr["pos"], dr["neg"]))
            res[m]["after"].append(auc(rec.scores(m, fb, profiles), dr["pos"], dr["neg"]))
            res[m]["plain"].append(auc(plain, dr["pos"], dr["neg"]))
    return {m: {k: sum(v) / len(v) for k, v in r.items()} for m, r in res.items()}


def profiles_with(base, tmp, numbers):
    with open(base) as f:
        doc = json.load(f)
    doc["feedback"].update(numbers)
    path = os.path.join(tmp, "profiles-%s.json" % "-".join("%s%g" % kv for kv in sorted(numbers.items())))
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--music", required=True, help="the folder of songs.ndjson")
    ap.add_argument("--recommend", default="build/bin/recommend")
    ap.add_argument("--profiles", default="models/profiles.json")
    ap.add_argument("--draws", type=int, default=6, help="draws per ordered pair of kinds")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--tune", action="store_true",
                    help="grid-search the feedback numbers on the tuning half first")
    ap.add_argument("--target", type=float, default=0.70)
    a = ap.parse_args()

    lib = os.path.join(a.music, "songs.ndjson")
    recs = [json.loads(l) for l in open(lib) if l.strip()]
    recs = [r for r in recs if "error" not in r]
    paths = [r["path"] for r in recs]
    z = standardise([features(r) for r in recs])
    by_kind = {}
    for i, p in enumerate(paths):
        by_kind.setdefault(kind_of(p), []).append(i)
    n_judged = 10
    by_kind = {k: v for k, v in by_kind.items() if len(v) >= n_judged + 4}
    if len(by_kind) < 2:
        print("bench-taste: fewer than two kinds with %d songs in %s" % (n_judged + 4, lib))
        return 2
    every = draws(by_kind, a.draws, n_judged, a.seed)
    tune = [d for d in every if d["draw"] % 2 == 0]
    held = [d for d in every if d["draw"] % 2 == 1]
    print("%d songs of %d kinds (%s); %d ordered pairs x %d draws of %d liked + %d skipped, "
          "judged while neutral; %d draws to tune, %d held out" % (
              len(paths), len(by_kind), ", ".join("%s %d" % (k, len(v)) for k, v in sorted(by_kind.items())),
              len(every) // a.draws, a.draws, n_judged, n_judged, len(tune), len(held)))

    with tempfile.TemporaryDirectory(prefix="fermata-taste.") as tmp:
        rec = Recommend(a.recommend, lib, a.profiles, paths, tmp)
        profiles = a.profiles
        if a.tune:
            best = None
            grid = {"evidence": (1, 2, 3, 4), "similar": (0.5, 0.75), "width": (0.5, 1.0),
                    "other_moods": (0.5, 0.8)}
            for values in itertools.product(*grid.values()):
                numbers = dict(zip(grid.keys(), values))
                p = profiles_with(a.profiles, tmp, numbers)
                r = evaluate(rec, paths, z, tune, p, tmp, {})
                mean = sum(r[m]["after"] for m in MOODS) / len(MOODS)
                print("  tune %s: %s" % (" ".join("%s %g" % kv for kv in numbers.items()),
                                          "  ".join("%s %.3f" % (m, r[m]["after"]) for m in MOODS)))
                if best is None or mean > best[0]:
                    best = (mean, numbers, p)
            print("chosen on the tuning half: %s (mean AUC %.3f)" % (
                " ".join("%s %g" % kv for kv in best[1].items()), best[0]))
            profiles = best[2]
        results = {}
        for name, sample in (("tuning half", tune), ("held out", held)):
            results[name] = evaluate(rec, paths, z, sample, profiles, tmp, {})
    print()
    print("%-12s %-8s %7s %7s %7s" % ("draws", "mood", "before", "after", "plain"))
    for name, r in results.items():
        for m in MOODS:
            print("%-12s %-8s %7.3f %7.3f %7.3f" % (name, m, r[m]["before"], r[m]["after"], r[m]["plain"]))
    held_r = results["held out"]
    ok = all(held_r[m]["after"] >= a.target for m in MOODS)
    beats = all(held_r[m]["after"] > held_r[m]["plain"] for m in MOODS)
    print()
    print("held out: AUC after feedback %s the target %.2f in both moods; %s the plain learner" % (
        "meets" if ok else "MISSES", a.target, "beats" if beats else "does not beat"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
