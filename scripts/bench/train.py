#!/usr/bin/python3
"""Train the same network with fer-train and with PyTorch on the same faces; images/s of each.

    /usr/bin/python3 scripts/bench/train.py [--bin DIR] [--data DIR] [--steps N]
                                            [--rounds R] [--threads T]

The faces are a fixed subset of a FER2013 folder tree (--data, ../shared/fer2013/train):
every k-th file of the list sorted by class and name, steps x 64 of them, linked into a
temporary folder tree that fer-train reads as it reads the full set. Both sides train the
network of models/fer2013.fm from random weights for the same number of steps (one epoch of
the subset, --steps, 100): fer-train's default architecture (VGG-style 32-64-128-256, two 3x3
convolutions with batch normalisation and ReLU a stage, 2x2 max pooling, global average
pooling, dropout 0.3, dense 7), SGD with Nesterov momentum 0.9 and weight decay 5e-4 on the
conv and dense weights, batch 64, label smoothing 0.1, and every face augmented (mirror,
+-10 degree rotation, +-10% zoom, +-4 pixel shift, brightness +-0.1, contrast +-0.2; PyTorch
draws the warps per face and applies them to the batch with affine_grid and grid_sample).

fer-train runs as the tool itself with --jobs T (2); its rate counts from the line it prints
when its network is ready (the faces are loaded before it) to its epoch line, so the
augmentation, every step and the save of the model are inside. PyTorch runs in this process
with torch.set_num_threads(T) on faces already in memory; its rate counts every step after
two untimed ones (oneDNN sets up its kernels in the first). The two alternate, --rounds
times (2), and the best round of each gives the ratio: the least disturbed by other
processes. Each run's CPU time (user + system: of the fer-train process from its network-ready
line, read from /proc, to its exit, or of this process over PyTorch's timed steps) gives
images per CPU second too, which other processes on the machine lower less
than they lower images/s (PyTorch's OpenMP threads count their spinning).

Prints a table and the ratio fer-train / PyTorch. Skips, with a message and exit 0, when
torch is not installed (Debian's python3-torch) or the faces are missing; exits 1 when a
run fails, 2 on a usage error or a missing fer-train.
"""
import argparse
import glob
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
BATCH = 64
PIXEL_MEAN, PIXEL_STD = 131.2, 78.4  # fer-train's normalisation, in pixel units


def subset(data, n):
    """Every k-th face of the sorted list, n of them: [(path, label)]."""
    faces = []
    for label, name in enumerate(EMOTIONS):
        for p in sorted(glob.glob(os.path.join(data, name, "*"))):
            faces.append((p, label))
    if len(faces) < n:
        return faces
    step = len(faces) / n
    return [faces[int(i * step)] for i in range(n)]


def link_tree(faces, into):
    for name in EMOTIONS:
        os.makedirs(os.path.join(into, name), exist_ok=True)
    for i, (p, label) in enumerate(faces):
        os.symlink(os.path.abspath(p),
                   os.path.join(into, EMOTIONS[label], f"{i:06d}{os.path.splitext(p)[1]}"))


def cpu_sec(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def proc_cpu_sec(pid):
    """User + system seconds of a running process so far, from /proc (None without it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_fer_train(binary, tree, out, threads):
    """fer-train over the tree for one epoch; seconds from network ready to epoch line, and
    the process's CPU seconds from network ready to its exit (from its start where /proc is
    missing: loading the faces included)."""
    cpu0 = cpu_sec(resource.RUSAGE_CHILDREN)
    base = None
    proc = subprocess.Popen(
        [binary, "--data", tree, "-o", out, "--epochs", "1", "--warmup", "0", "--jobs", str(threads)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    start = end = None
    lines = []
    for raw in proc.stderr:
        line = raw.decode(errors="replace")
        lines.append(line)
        if start is None and "MFLOPs per face" in line:
            start = time.monotonic()
            base = proc_cpu_sec(proc.pid)
        elif re.match(r"epoch 1/1:", line):
            end = time.monotonic()
    proc.wait()
    if proc.returncode != 0 or start is None or end is None:
        sys.stderr.write("".join(lines[-5:]))
        return None
    return end - start, cpu_sec(resource.RUSAGE_CHILDREN) - cpu0 - (base or 0.0)


def torch_setup(faces, threads):
    import cv2
    import numpy as np
    import torch
    import torch.nn as nn

    torch.set_num_threads(threads)
    torch.manual_seed(1)
    px = np.stack([cv2.resize(cv2.imread(p, cv2.IMREAD_GRAYSCALE), (48, 48),
                              interpolation=cv2.INTER_AREA) for p, _ in faces])
    x = torch.from_numpy(px).float().unsqueeze(1) / 255.0
    y = torch.tensor([label for _, label in faces], dtype=torch.long)

    def stage(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True)]

    def make():
        layers = []
        for i, (cin, cout) in enumerate([(1, 32), (32, 64), (64, 128), (128, 256)]):
            layers += stage(cin, cout)
            layers.append(nn.MaxPool2d(2) if i < 3 else nn.AdaptiveAvgPool2d(1))
        layers += [nn.Flatten(), nn.Dropout(0.3), nn.Linear(256, 7)]
        net = nn.Sequential(*layers)
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        return net

    return torch, x, y, make


def torch_augment(torch, xb):
    """fer-train's augmentation of a batch in [0, 1]: a warp per face, then light."""
    import torch.nn.functional as F

    n = xb.shape[0]
    deg = (torch.rand(n) * 2 - 1) * 10
    zoom = 1 + (torch.rand(n) * 2 - 1) * 0.1
    flip = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2) * 2 - 1) * 4 / 24  # pixels in affine_grid's [-1, 1] units
    rad = deg * math.pi / 180
    c, s = torch.cos(rad) / zoom, torch.sin(rad) / zoom
    theta = torch.stack([torch.stack([c * flip, -s, -shift[:, 0]], 1),
                         torch.stack([s * flip, c, -shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(xb.shape), align_corners=False)
    out = F.grid_sample(xb, grid, mode="bilinear", padding_mode="border", align_corners=False)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 1 + (torch.rand(n, 1, 1, 1) * 2 - 1) * 0.2
    bright = (torch.rand(n, 1, 1, 1) * 2 - 1) * 0.1
    out = (out - mean) * contrast + mean + bright
    return (out - PIXEL_MEAN / 255) / (PIXEL_STD / 255)


def run_torch(setup, steps, warmup=2):
    torch, x, y, make = setup
    net = make()
    net.train()
    decay = [p for n, p in net.named_parameters() if p.dim() > 1]
    rest = [p for n, p in net.named_parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": rest, "weight_decay": 0}],
                          lr=0.01, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    order = torch.randperm(x.shape[0])
    start = cpu0 = None
    for step in range(warmup + steps):
        if step == warmup:
            start = time.monotonic()
            cpu0 = cpu_sec(resource.RUSAGE_SELF)
        idx = order[(step * BATCH) % x.shape[0]:][:BATCH]
        if len(idx) < BATCH:
            idx = order[:BATCH]
        xb = torch_augment(torch, x[idx])
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), y[idx])
        loss.backward()
        opt.step()
        if not math.isfinite(loss.item()):
            return None
    return time.monotonic() - start, cpu_sec(resource.RUSAGE_SELF) - cpu0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/bin"))
    ap.add_argument("--data", default=os.path.join(ROOT, "../shared/fer2013/train"))
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if a.steps < 1 or a.rounds < 1 or a.threads < 1:
        ap.error("--steps, --rounds and --threads take a number >= 1")
    fer = os.path.join(a.bin, "fer-train")
    if not os.access(fer, os.X_OK):
        print(f"bench-train: {fer} is not built", file=sys.stderr)
        return 2
    try:
        import torch  # noqa: F401
    except ImportError:
        print("bench-train: skipped: no PyTorch (Debian's python3-torch; make bench "
              "installs it)")
        return 0
    faces = subset(a.data, a.steps * BATCH)
    if len(faces) < a.steps * BATCH:
        print(f"bench-train: skipped: {len(faces)} faces in {a.data}, "
              f"{a.steps * BATCH} needed (FER2013 as a folder per emotion)")
        return 0

    tmp = tempfile.mkdtemp(prefix="fermata-bench-train.")
    try:
        tree = os.path.join(tmp, "faces")
        link_tree(faces, tree)
        setup = torch_setup(faces, a.threads)
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
              f"{len(faces)} FER2013 faces from {a.data}, {a.steps} steps of {BATCH}, "
              f"{a.threads} threads each; PyTorch {setup[0].__version__}")
        print()
        print(f"{'':5s} {'images/s':>25s}   {'images/CPU-s':>25s}")
        print(f"{'round':>5s} {'fer-train':>12s} {'PyTorch':>12s}   "
              f"{'fer-train':>12s} {'PyTorch':>12s}")
        best_fer = best_torch = best_cfer = best_ctorch = 0.0
        for r in range(a.rounds):
            r_fer = run_fer_train(fer, tree, os.path.join(tmp, "m.fm"), a.threads)
            if r_fer is None:
                print("bench-train: fer-train failed", file=sys.stderr)
                return 1
            r_torch = run_torch(setup, a.steps)
            if r_torch is None:
                print("bench-train: PyTorch's loss is not finite", file=sys.stderr)
                return 1
            rf, rt = len(faces) / r_fer[0], a.steps * BATCH / r_torch[0]
            cf, ct = len(faces) / r_fer[1], a.steps * BATCH / r_torch[1]
            best_fer, best_torch = max(best_fer, rf), max(best_torch, rt)
            best_cfer, best_ctorch = max(best_cfer, cf), max(best_ctorch, ct)
            print(f"{r + 1:5d} {rf:12.1f} {rt:12.1f}   {cf:12.1f} {ct:12.1f}")
        print()
        print(f"best: fer-train {best_fer:.1f} images/s, PyTorch {best_torch:.1f} images/s; "
              f"ratio fer-train / PyTorch {best_fer / best_torch:.2f} (target >= 1)")
        print(f"best per CPU second: fer-train {best_cfer:.1f}, PyTorch {best_ctorch:.1f}; "
              f"ratio {best_cfer / best_ctorch:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
