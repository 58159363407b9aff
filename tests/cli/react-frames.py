# tests/cli/react-frames.py: a synthetic stream of frames as fer-detect --stream | fer-classify
# writes them, one face per frame with known scores, for fer-react's tests.
#   react-frames.py FPS SEGMENT ...
# Each SEGMENT is FROM:TO:SCORES, seconds FROM (inclusive) to TO (exclusive) at FPS frames a
# second, SCORES the face's probabilities as name=p,name=p (neutral takes the rest), or
# "none" for frames without a face. Frames are numbered from 0 as fer-detect numbers them.
import json
import sys

NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
fps = float(sys.argv[1])
frame = 0
for seg in sys.argv[2:]:
    t0, t1, scores = seg.split(":", 2)
    first, last = round(float(t0) * fps), round(float(t1) * fps)
    for i in range(first, last):
        faces = []
        if scores != "none":
            p = {n: 0.0 for n in NAMES}
            for kv in scores.split(","):
                name, v = kv.split("=")
                p[name] = float(v)
            p["neutral"] = round(1 - sum(v for n, v in p.items() if n != "neutral"), 4)
            faces = [{"x": 40, "y": 30, "w": 96, "h": 96, "score": 0.9,
                      "emotion": max(NAMES, key=lambda n: p[n]), "scores": p}]
        print(json.dumps({"frame": frame, "t": round(i / fps, 4), "width": 320,
                          "height": 240, "faces": faces}, separators=(",", ":")))
        frame += 1
