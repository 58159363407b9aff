#!/usr/bin/python3
"""Time `fer-detect --stream | fer-classify` on 640x480 frames (issues 6, 14 and 18).

    /usr/bin/python3 scripts/bench/stream.py [--bin DIR] [--frames N] [--fps F]
                                              [--cascade NAME]... [--classify-args ARGS]

The pipeline is the README's webcam example, `fer-detect --stream | fer-classify --smooth
0.5` with fer-detect's default detector, the CNN (the row "cnn"), and then with
`fer-detect --stream --cascade CASCADE` for each cascade; every other option at its
default. --cascade names the rows instead (the name cnn for the CNN); --classify-args replaces
"--smooth 0.5" (e.g. "--smooth 0.5 --model models/fer2013.fm" for the default network).

Frames are the bundled photos resized to 640x480 (cv2.resize, INTER_AREA), sent as binary
PPM, as `ffmpeg -f image2pipe -vcodec ppm -` sends a camera's. For each cascade two runs:

  throughput  every frame written as fast as the pipe takes it; frames per second from the
              first byte written to the last record read (both tools at their default
              --jobs, which is the number of cores); and fer-detect alone the same way
              ("detect" column), to tell detection's share from classification's
  latency     frames written at --fps (30) as a camera would; for each frame the time from
              its last byte written to its record read: median, 95th percentile and worst,
              and whether the pipeline kept up (the last third of the frames waits no
              longer, by median, than the first third plus two frame periods, and the
              writer was never held up by a full pipe for more than that: no queue)

Prints a table; exits 0 when every frame came back as a record, 1 otherwise, 2 on a usage
error or missing binaries. The targets: >= 30 frames/s with the LBP cascade (issue 6) and
with the CNN (issue 18).
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import threading
import time

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_frames(n):
    photos = sorted(glob.glob(os.path.join(ROOT, "testdata/photos/*.jpg")) +
                    glob.glob(os.path.join(ROOT, "testdata/photos/*.png")))
    if not photos:
        sys.exit("bench-stream: no photos in testdata/photos")
    frames = []
    for path in photos:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        img = cv2.resize(img, (640, 480), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        frames.append(b"P6\n640 480\n255\n" + rgb.tobytes())
    return [frames[i % len(frames)] for i in range(n)]


def detector_args(cascade):
    """fer-detect's options for a row: the CNN, or a cascade."""
    return ["--detector", "cnn"] if cascade == "cnn" else ["--cascade", cascade]


def pipeline(bindir, cascade, classify_args):
    detect = subprocess.Popen(
        [os.path.join(bindir, "fer-detect"), "--stream"] + detector_args(cascade),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    classify = subprocess.Popen(
        [os.path.join(bindir, "fer-classify")] + classify_args,
        stdin=detect.stdout, stdout=subprocess.PIPE)
    detect.stdout.close()
    return detect, classify


def run(bindir, cascade, frames, fps, classify_args):
    """Write frames (paced at fps, or as fast as possible with fps 0); times per frame.
    classify_args None: fer-detect alone."""
    if classify_args is None:
        detect = subprocess.Popen(
            [os.path.join(bindir, "fer-detect"), "--stream"] + detector_args(cascade),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        classify = detect
    else:
        detect, classify = pipeline(bindir, cascade, classify_args)
    sent = [0.0] * len(frames)
    got = []
    faces = [0]

    def reader():
        for line in classify.stdout:
            got.append(time.monotonic())
            faces[0] += line.count(b'"emotion"')

    t = threading.Thread(target=reader)
    t.start()
    start = time.monotonic()
    for i, f in enumerate(frames):
        if fps > 0:
            wait = start + i / fps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        detect.stdin.write(f)
        detect.stdin.flush()
        sent[i] = time.monotonic()
    detect.stdin.close()
    t.join()
    detect.wait()
    classify.wait()
    return start, sent, got, faces[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/bin"))
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--fps", type=float, default=30)
    ap.add_argument("--cascade", action="append")
    ap.add_argument("--classify-args", default="--smooth 0.5")
    a = ap.parse_args()
    cascades = a.cascade or ["cnn", "lbpcascade_frontalface_improved.xml",
                             "haarcascade_frontalface_alt2.xml"]
    for tool in ("fer-detect", "fer-classify"):
        if not os.access(os.path.join(a.bin, tool), os.X_OK):
            print(f"bench-stream: {a.bin}/{tool} is not built", file=sys.stderr)
            return 2
    frames = make_frames(a.frames)
    cargs = a.classify_args.split()
    ok = True
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"{len(frames)} PPM frames of 640x480; fer-classify {' '.join(cargs)}")
    print()
    print(f"{'detector':40s} {'frames/s':>9s} {'detect':>7s} {'faces':>6s}   {'latency at':>10s} "
          f"{'median':>8s} {'p95':>8s} {'worst':>8s}  kept up")
    for c in cascades:
        start, sent, got, faces = run(a.bin, c, frames, 0, cargs)
        if len(got) != len(frames):
            print(f"bench-stream: {c}: {len(got)} records for {len(frames)} frames",
                  file=sys.stderr)
            ok = False
            continue
        rate = len(frames) / (got[-1] - start)
        d_start, _, d_got, _ = run(a.bin, c, frames, 0, None)
        d_rate = len(frames) / (d_got[-1] - d_start) if len(d_got) == len(frames) else 0
        start, sent, got, _ = run(a.bin, c, frames, a.fps, cargs)
        if len(got) != len(frames):
            ok = False
            continue
        lat = sorted(g - s for g, s in zip(got, sent))
        med = statistics.median(lat) * 1e3
        p95 = lat[int(0.95 * (len(lat) - 1))] * 1e3
        # Kept up: no queue builds, so the last third's latencies are those of the first.
        third = len(sent) // 3
        first = statistics.median(g - t for g, t in zip(got[:third], sent[:third]))
        last = statistics.median(g - t for g, t in zip(got[-third:], sent[-third:]))
        # ...and the camera was never held up: a full pipe blocks the writer.
        late = sent[-1] - (start + (len(frames) - 1) / a.fps)
        kept = last < first + 2 / a.fps and late < 2 / a.fps
        print(f"{c:40s} {rate:9.1f} {d_rate:7.1f} {faces:6d}   {a.fps:7.0f}/s {med:6.1f}ms {p95:6.1f}ms "
              f"{lat[-1] * 1e3:6.1f}ms  {'yes' if kept else 'NO'}")
    print()
    print("targets: >= 30 frames/s with the CNN and with the LBP cascade (throughput column)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
