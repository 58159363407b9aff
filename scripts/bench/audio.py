#!/usr/bin/python3
"""The engine of scripts/bench/audio.sh: make the test pieces, time song-featurize and aubio
on them, measure tempo accuracy on clips of known tempo, and print the tables.

    bench-audio.py make  --out DIR [--pieces N] [--piece-sec S] [--clip-sec S]
    bench-audio.py run   --dir DIR --fermata BIN [--reps R]

The sounds are synthesised here with numpy from fixed seeds, so every run measures the same
files: 44.1 kHz stereo 16-bit WAV (and a FLAC copy of the pieces when sox is there).

  pieces   a few 45-second songs (drums, bass, chords, a melody) for the speed table;
  clips    15-second clips of known tempo, 60 to 180 BPM, in six styles: a click track, a
           rock beat, four-on-the-floor, a 3/4 waltz, a shuffle, and drumless arpeggios.
           Their tempi are drawn at random. Be warned that they are not a held-out set:
           the constants of lib/audio_tempo.c were chosen on these clips together with
           the unit tests' signals and others of the same kind.

Speed is the real-time factor: seconds of audio per second of CPU time (user + system of the
child process, from getrusage), one process per file, decode included, best of R runs for
each file. song-featurize runs with --jobs 1 and computes every descriptor; aubiotrack (beats,
hence tempo) and aubiomfcc are aubio's C programs; `aubio tempo` and `aubio mfcc` are its
Python command line, which pays the interpreter's start.

Tempo accuracy: a tempo is right within 4% of the true one (acc1), or of it, twice it or half
of it (acc2). aubiotrack's tempo is 60 / the median interval between its beats; `aubio tempo`
prints its own.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import wave

import numpy as np

SR = 44100


# --- sounds ----------------------------------------------------------------------------------

def env(n, decay, attack=0.002):
    t = np.arange(n) / SR
    return np.minimum(1.0, t / attack) * np.exp(-t / decay)


def kick(rng):
    n = int(0.3 * SR)
    t = np.arange(n) / SR
    f = 48 + 110 * np.exp(-t / 0.025)
    return 0.9 * np.sin(2 * np.pi * np.cumsum(f) / SR) * env(n, 0.14)


def snare(rng):
    n = int(0.2 * SR)
    t = np.arange(n) / SR
    return 0.45 * (0.7 * rng.standard_normal(n) * env(n, 0.05) +
                   np.sin(2 * np.pi * 190 * t) * env(n, 0.04))


def hat(rng, gain=0.12):
    n = int(0.05 * SR)
    return gain * np.diff(rng.standard_normal(n + 1)) * env(n, 0.012, 0.0005)


def click(rng):
    n = int(0.02 * SR)
    t = np.arange(n) / SR
    return 0.8 * np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.004)


def pluck(freq, dur, gain):
    n = int(dur * SR)
    t = np.arange(n) / SR
    return gain * sum(0.6 ** h * np.sin(2 * np.pi * (h + 1) * freq * t) for h in range(5)) \
        * env(n, dur / 3, 0.004)


def place(y, s, at):
    p = int(round(at))
    m = min(len(s), len(y) - p)
    if m > 0:
        y[p:p + m] += s[:m]


def midi(m):
    return 440.0 * 2 ** ((m - 69) / 12)


PROGRESSIONS = [[(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)],   # Am F C G
                [(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62)],   # C Am F G
                [(62, 65, 69), (58, 62, 65), (60, 64, 67), (57, 61, 64)]]   # Dm Bb C A


def harmony(y, bpm, beats_per_bar, rng, prog, bass=True, chords=True, arp=False):
    per = 60.0 / bpm * SR
    bar = beats_per_bar * per
    for i in range(int(len(y) / bar) + 1):
        c = prog[i % len(prog)]
        if chords:
            for m in c:
                place(y, pluck(midi(m), bar / SR, 0.05), i * bar)
        if bass:
            for b in range(beats_per_bar):
                if b % 2 == 0:
                    place(y, pluck(midi(c[0] - 24), per / SR, 0.25), i * bar + b * per)
        if arp:
            for k in range(2 * beats_per_bar):
                m = c[k % 3] + 12 * (k // 3 % 2)
                place(y, pluck(midi(m), per / 2 / SR, 0.12 if k % 2 == 0 else 0.09),
                      i * bar + k * per / 2)


def drums(y, bpm, style, rng):
    per = 60.0 / bpm * SR
    k = 0
    K = kick(rng)
    while k * per < len(y):
        at = k * per
        if style == "clicks":
            place(y, click(rng), at)
        elif style == "rock":
            place(y, K if k % 2 == 0 else snare(rng), at)
            place(y, hat(rng), at)
            place(y, hat(rng, 0.08), at + per / 2)
        elif style == "fourfloor":
            place(y, K, at)
            if k % 2 == 1:
                place(y, 0.7 * snare(rng), at)
            place(y, hat(rng, 0.2), at + per / 2)
        elif style == "waltz":
            if k % 3 == 0:
                place(y, K, at)
            else:
                place(y, 0.5 * snare(rng), at)
            place(y, hat(rng, 0.06), at)
        elif style == "shuffle":
            place(y, K if k % 2 == 0 else snare(rng), at)
            place(y, hat(rng, 0.1), at)
            place(y, hat(rng, 0.07), at + 2 * per / 3)
        k += 1


def make_clip(style, bpm, sec, seed):
    rng = np.random.RandomState(seed)
    y = np.zeros(int(sec * SR))
    prog = PROGRESSIONS[seed % len(PROGRESSIONS)]
    if style == "arpeggio":
        harmony(y, bpm, 4, rng, prog, bass=True, chords=False, arp=True)
    else:
        drums(y, bpm, style, rng)
        if style != "clicks":
            harmony(y, bpm, 3 if style == "waltz" else 4, rng, prog)
    return y


def make_piece(i, sec):
    """A song: drums of one style, bass, chords, a melody of random eighth notes."""
    rng = np.random.RandomState(100 + i)
    bpm = float(rng.uniform(80, 160))
    style = ["rock", "fourfloor", "shuffle", "rock"][i % 4]
    y = np.zeros(int(sec * SR))
    drums(y, bpm, style, rng)
    prog = PROGRESSIONS[i % len(PROGRESSIONS)]
    harmony(y, bpm, 4, rng, prog)
    per = 60.0 / bpm * SR
    scale = [0, 2, 3, 5, 7, 8, 10, 12]
    for k in range(int(len(y) / (per / 2))):
        if rng.uniform() < 0.7:
            place(y, pluck(midi(69 + scale[rng.randint(len(scale))]), 0.25, 0.08), k * per / 2)
    return y, bpm


def write_wav(path, mono, seed):
    """Stereo: the right channel slightly delayed and quieter, 16-bit, peak at -1 dBFS."""
    y = mono / max(1e-9, np.max(np.abs(mono))) * 0.89
    right = 0.8 * np.concatenate((np.zeros(40 + seed % 50), y))[:len(y)]
    pcm = np.clip(np.round(np.stack([y, right], axis=1) * 32767), -32768, 32767)
    with wave.open(path, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.astype("<i2").tobytes())


def cmd_make(args):
    os.makedirs(os.path.join(args.out, "pieces"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "clips"), exist_ok=True)
    truth = {}
    rng = np.random.RandomState(2024)
    styles = ["clicks", "rock", "fourfloor", "waltz", "shuffle", "arpeggio"]
    for s, style in enumerate(styles):
        for j in range(args.clips_per_style):
            bpm = round(float(rng.uniform(60, 180)), 1)
            name = f"clips/{style}-{j}.wav"
            write_wav(os.path.join(args.out, name), make_clip(style, bpm, args.clip_sec,
                                                               10 * s + j), j)
            truth[name] = bpm
    for i in range(args.pieces):
        y, bpm = make_piece(i, args.piece_sec)
        name = f"pieces/piece-{i}.wav"
        write_wav(os.path.join(args.out, name), y, i)
        truth[name] = round(bpm, 1)
    with open(os.path.join(args.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=0, sort_keys=True)


# --- measuring ---------------------------------------------------------------------------------

def cpu_run(argv):
    """Run argv; return (stdout, CPU seconds of the child: user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {p.returncode}")
    return p.stdout.decode("utf-8", "replace"), cpu


def duration(path):
    try:
        with wave.open(path) as w:
            return w.getnframes() / w.getframerate()
    except wave.Error:
        out = subprocess.run(["soxi", "-D", path], stdout=subprocess.PIPE, check=True)
        return float(out.stdout)


def tempo_aubiotrack(out):
    beats = [float(x) for x in out.split()]
    if len(beats) < 3:
        return None
    return 60.0 / statistics.median(np.diff(beats))


def tempo_aubio_cli(out):
    try:
        return float(out.split()[0])
    except (IndexError, ValueError):
        return None


def right(t, truth, octaves):
    if t is None:
        return False
    for f in ((1.0, 2.0, 0.5) if octaves else (1.0,)):
        if abs(t / (truth * f) - 1) <= 0.04:
            return True
    return False


def cmd_run(args):
    with open(os.path.join(args.dir, "truth.json")) as f:
        truth = json.load(f)
    fm = args.fermata
    have_cli = shutil.which("aubio") is not None
    tools = {
        "song-featurize (all descriptors)": lambda p: [fm, "--jobs", "1", p],
        "aubiotrack (beats)": lambda p: ["aubiotrack", "-i", p],
        "aubiomfcc (MFCC)": lambda p: ["aubiomfcc", "-i", p],
    }
    if have_cli:
        tools["aubio tempo (Python CLI)"] = lambda p: ["aubio", "tempo", p]
        tools["aubio mfcc (Python CLI)"] = lambda p: ["aubio", "mfcc", p]

    # Speed, on the pieces, as WAV and as FLAC when present.
    sets = {"WAV": sorted(k for k in truth if k.startswith("pieces/"))}
    flacs = [k[:-4] + ".flac" for k in sets["WAV"]]
    if all(os.path.exists(os.path.join(args.dir, f)) for f in flacs):
        sets["FLAC"] = flacs
    speed = {}
    for fmt, files in sets.items():
        paths = [os.path.join(args.dir, f) for f in files]
        audio = sum(duration(p) for p in paths)
        for name, argv in tools.items():
            if fmt == "FLAC" and "CLI" in name:
                continue
            cpu = 0.0
            for p in paths:
                cpu += min(cpu_run(argv(p))[1] for _ in range(args.reps))
            speed[(fmt, name)] = (audio, cpu)
    print(f"Real-time factor: seconds of audio per CPU second, one process per file, decode "
          f"included, best of {args.reps}")
    ref = {fmt: speed[(fmt, "song-featurize (all descriptors)")] for fmt in sets}
    print(f"{'tool':36} {'format':6} {'audio s':>8} {'CPU s':>7} {'x real time':>12} "
          f"{'song-featurize is':>18}")
    for (fmt, name), (audio, cpu) in speed.items():
        rtf = audio / cpu if cpu > 0 else float("inf")
        fm_rtf = ref[fmt][0] / ref[fmt][1]
        ratio = "" if name.startswith("song") else f"{fm_rtf / rtf:.2f}x faster"
        print(f"{name:36} {fmt:6} {audio:8.1f} {cpu:7.3f} {rtf:12.0f} {ratio:>18}")

    # Tempo accuracy, on the clips.
    clips = sorted(k for k in truth if k.startswith("clips/"))
    paths = [os.path.join(args.dir, k) for k in clips]
    out, _ = cpu_run([fm, "--jobs", "1"] + paths)
    ours = {}
    for line in out.splitlines():
        r = json.loads(line)
        ours[os.path.relpath(r["path"], args.dir)] = r.get("tempo")
    results = {"song-featurize": ours, "aubiotrack": {}, "aubio tempo": {}}
    for k, p in zip(clips, paths):
        results["aubiotrack"][k] = tempo_aubiotrack(cpu_run(["aubiotrack", "-i", p])[0])
        if have_cli:
            results["aubio tempo"][k] = tempo_aubio_cli(cpu_run(["aubio", "tempo", p])[0])
    if not have_cli:
        del results["aubio tempo"]
    print()
    print(f"Tempo accuracy on {len(clips)} clips of known tempo (60-180 BPM; within 4%; "
          f"acc2 also allows double or half)")
    styles = sorted({k.split("/")[1].rsplit("-", 1)[0] for k in clips})
    print(f"{'tool':16} {'acc1':>6} {'acc2':>6}  " + " ".join(f"{s:>9}" for s in styles))
    acc = {}
    for name, got in results.items():
        a1 = sum(right(got[k], truth[k], False) for k in clips)
        a2 = sum(right(got[k], truth[k], True) for k in clips)
        acc[name] = (a1, a2)
        per = []
        for s in styles:
            ks = [k for k in clips if k.split("/")[1].rsplit("-", 1)[0] == s]
            per.append(f"{sum(right(got[k], truth[k], False) for k in ks)}/{len(ks):<7}")
        print(f"{name:16} {a1:>3}/{len(clips):<2} {a2:>3}/{len(clips):<2}  " + " ".join(
            f"{p:>9}" for p in per))
    if args.verbose:
        for k in clips:
            print(f"  {k:24} truth {truth[k]:6.1f}  " + "  ".join(
                f"{n} {results[n][k] if results[n][k] is None else round(results[n][k], 1)}"
                for n in results))

    # Sound: faster than aubio's C programs on every format, and at least as accurate.
    ok = True
    for fmt in sets:
        fm_rtf = ref[fmt][0] / ref[fmt][1]
        for name in ("aubiotrack (beats)", "aubiomfcc (MFCC)"):
            audio, cpu = speed[(fmt, name)]
            if fm_rtf <= audio / cpu:
                print(f"bench-audio: song-featurize is slower than {name} on {fmt}")
                ok = False
    for name in results:
        if name != "song-featurize" and (acc["song-featurize"][0] < acc[name][0] or
                                         acc["song-featurize"][1] < acc[name][1]):
            print(f"bench-audio: {name} is more accurate on tempo than song-featurize")
            ok = False
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--pieces", type=int, default=4)
    m.add_argument("--piece-sec", type=float, default=45)
    m.add_argument("--clip-sec", type=float, default=15)
    m.add_argument("--clips-per-style", type=int, default=8)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--fermata", required=True)
    r.add_argument("--reps", type=int, default=3)
    r.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if args.cmd == "make":
        cmd_make(args)
        return 0
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
