#!/usr/bin/python3
"""Tempo accuracy on the set of scripts/bench/tempo-set.py, against aubio and librosa.

    scripts/bench/tempo.py [--data DIR] [--split held|tune|all] [--fermata BIN] [-v]

Reads DIR/manifest.tsv (name, bpm, metre, style, split, source), runs song-featurize on the
clips of the split (held: the half tempo was never tuned on), `aubio tempo` (aubio-tools'
Python command line) and aubiotrack (its C beat tracker, tempo = 60 / median inter-beat
interval), and librosa.feature.tempo when python3 can import librosa. Prints, for each, the
share of clips within 4% of the stated tempo (acc1) and within 4% of it, twice it or half it
(acc2), and song-featurize's count of clips without a tempo. -v lists every clip.
Exit status 0; 2 when the set or a tool is missing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys


def within(est, ref, tol=0.04):
    return est is not None and est > 0 and abs(est - ref) <= tol * ref


def acc2(est, ref):
    return any(within(est, ref * m) for m in (1, 2, 0.5))


def ours(fm, files):
    out = subprocess.run([fm, "--jobs", "2"] + files, capture_output=True, text=True)
    res = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        res[r["path"]] = (r.get("tempo"), r.get("tempo_confidence"))
    return res


def aubio_tempo(f):
    p = subprocess.run(["aubio", "tempo", f], capture_output=True, text=True)
    try:
        return float(p.stdout.split()[0])
    except (ValueError, IndexError):
        return None


def aubiotrack(f):
    p = subprocess.run(["aubiotrack", "-i", f], capture_output=True, text=True)
    beats = [float(x) for x in p.stdout.split()]
    if len(beats) < 3:
        return None
    return 60.0 / statistics.median(b - a for a, b in zip(beats, beats[1:]))


def librosa_tempo(f):
    import librosa  # noqa: only when present

    y, sr = librosa.load(f, sr=22050)
    return float(librosa.feature.tempo(y=y, sr=sr)[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FM_TEMPO_DATA", "/work/data/tempo"))
    ap.add_argument("--split", default="held", choices=["held", "tune", "all"])
    ap.add_argument("--fermata", default="build/bin/song-featurize")
    ap.add_argument("--no-ref", action="store_true", help="song-featurize only")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    man = os.path.join(a.data, "manifest.tsv")
    if not os.path.exists(man):
        print("bench-tempo: %s is missing (scripts/bench/tempo-set.py builds it)" % man, file=sys.stderr)
        sys.exit(2)
    rows = []
    with open(man) as f:
        next(f)
        for line in f:
            name, bpm, metre, style, split, source = line.rstrip("\n").split("\t")
            if a.split in ("all", split):
                rows.append((name, float(bpm), style, os.path.join(a.data, name + ".wav")))
    tools = {"song-featurize": None}
    if not a.no_ref:
        if subprocess.run(["sh", "-c", "command -v aubio"], stdout=subprocess.DEVNULL).returncode == 0:
            tools["aubio tempo"] = aubio_tempo
        if subprocess.run(["sh", "-c", "command -v aubiotrack"], stdout=subprocess.DEVNULL).returncode == 0:
            tools["aubiotrack"] = aubiotrack
        try:
            import librosa  # noqa: F401

            tools["librosa"] = librosa_tempo
        except ImportError:
            print("bench-tempo: python3 has no librosa: its column is skipped", file=sys.stderr)
    got = {t: {} for t in tools}
    fm = ours(a.fermata, [r[3] for r in rows])
    nulls = 0
    for name, bpm, style, path in rows:
        t, c = fm.get(path, (None, None))
        got["song-featurize"][name] = t
        nulls += t is None
        for tool, fn in tools.items():
            if fn is not None:
                got[tool][name] = fn(path)
        if a.verbose:
            print("%-16s %-10s %6.1f  ours %6s (conf %s)  %s" % (
                name, style, bpm, "null" if t is None else "%.1f" % t, c,
                "  ".join("%s %.1f" % (k, v[name] or 0) for k, v in got.items() if k != "song-featurize")))
    n = len(rows)
    print("tempo on %d clips (split %s of %s): acc1 within 4%%, acc2 also x2 or x1/2" % (n, a.split, a.data))
    print("%-16s %6s %6s" % ("tool", "acc1", "acc2"))
    for tool in tools:
        a1 = sum(within(got[tool][r[0]], r[1]) for r in rows)
        a2 = sum(acc2(got[tool][r[0]], r[1]) for r in rows)
        print("%-16s %5.1f%% %5.1f%%" % (tool, 100.0 * a1 / n, 100.0 * a2 / n))
    print("song-featurize gave no tempo for %d of %d clips" % (nulls, n))


if __name__ == "__main__":
    main()
