#!/usr/bin/python3
"""Score a face detector's records against labelled photos.

  detect-eval.py [--json] [--iou V] [--root DIR] LABELS.ndjson < RECORDS
  detect-eval.py --self-test

LABELS: one photo a line, {"path":...,"faces":[{"x","y","w","h"},...]} (the format of
/work/data/faces/held.ndjson, scripts/refdata/caltech-faces.sh; and of
testdata/detect/labels.ndjson), a relative path relative to DIR (--root, by default the
working directory). RECORDS: fer-detect's output,
{"path":...,"faces":[{"x","y","w","h","score"},...]}, a relative path relative to the
working directory. Records and labels meet by path (both
resolved with realpath). A labelled photo without a record, or whose record is an error
record, has all its faces missed; a record of a photo not in the labels is left out (and
counted on stderr); a path given twice is an error.

The rule is the usual one (PASCAL VOC's, with COCO's choice of a face for a detection):
every detection of every photo, most certain first (equal scores in input order), takes the
face of its photo not taken yet with which its IoU is highest, if that IoU is at least 0.5
(--iou); otherwise it is a false positive. So a face is found at most once and a second
box on it is a false positive. Precision, recall and F1 are at the detector's operating
point (all its detections); AP is the area under the precision/recall curve over score
thresholds, all points (VOC 2010 on): the curve has a point at each distinct score (tied
detections enter together), precision is made non-increasing from the right, and AP sums
precision times each step of recall.

Prints a line of counts, one of figures and one of recall by the labelled face's side
(under 24 pixels, 24 to 48, 48 to 96, 96 and over), or with --json one JSON object. Exit status:
0, or 2 on a usage error or unreadable input.
"""
import json
import os
import sys


def iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


# The bands of face side, in pixels, that recall is also given for.
SIDES = [(0, 24), (24, 48), (48, 96), (96, float('inf'))]


def side_name(lo, hi):
    return '%d+' % lo if hi == float('inf') else '%d-%d' % (lo, hi)


def evaluate(truth, dets, min_iou=0.5):
    """truth: {photo: [box, ...]}; dets: {photo: [(score, box), ...]} (photos not in truth
    are ignored). A box is (x, y, w, h). Returns a dict of counts and figures."""
    n_faces = sum(len(v) for v in truth.values())
    order = []
    seq = 0
    for photo in truth:
        for score, box in dets.get(photo, []):
            order.append((-score, seq, photo, box))
            seq += 1
    order.sort(key=lambda t: (t[0], t[1]))
    taken = {photo: [False] * len(boxes) for photo, boxes in truth.items()}
    hits = []  # (score, 1 if true positive) in rank order
    for negscore, _, photo, box in order:
        best, best_i = min_iou, -1
        for i, face in enumerate(truth[photo]):
            if taken[photo][i]:
                continue
            v = iou(box, face)
            if v >= best:
                best, best_i = v, i
        if best_i >= 0:
            taken[photo][best_i] = True
        hits.append((-negscore, 1 if best_i >= 0 else 0))
    tp = sum(h for _, h in hits)
    fp = len(hits) - tp
    precision = tp / len(hits) if hits else 0.0
    recall = tp / n_faces if n_faces else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    # The curve: one point at the end of each run of equal scores.
    points = []
    ctp = 0
    for k, (score, hit) in enumerate(hits):
        ctp += hit
        if k + 1 == len(hits) or hits[k + 1][0] != score:
            points.append((ctp / n_faces if n_faces else 0.0, ctp / (k + 1)))
    ap = 0.0
    best_p = 0.0
    envelope = []
    for r, p in reversed(points):
        best_p = max(best_p, p)
        envelope.append((r, best_p))
    envelope.reverse()
    prev_r = 0.0
    for r, p in envelope:
        ap += (r - prev_r) * p
        prev_r = r
    # Recall by the labelled box's side: small faces are where detectors differ most.
    by_side = []
    for lo, hi in SIDES:
        found = [taken[photo][i] for photo, boxes in truth.items()
                 for i, face in enumerate(boxes) if lo <= face[2] < hi]
        by_side.append((lo, hi, len(found), sum(found)))
    return {'faces': n_faces, 'detections': len(hits), 'tp': tp, 'fp': fp,
            'fn': n_faces - tp, 'precision': precision, 'recall': recall, 'f1': f1, 'ap': ap,
            'by_side': by_side}


def box_of(face):
    return (float(face['x']), float(face['y']), float(face['w']), float(face['h']))


def load(labels_path, records, warn, root='.'):
    """truth and detections from the labels file and an iterable of record lines; also the
    numbers of labelled photos without a record, error records, unlabelled records."""
    truth = {}
    with open(labels_path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            key = os.path.realpath(os.path.join(root, rec['path']))
            if key in truth:
                raise ValueError('%s:%d: %s given twice' % (labels_path, n, rec['path']))
            truth[key] = [box_of(face) for face in rec.get('faces', [])]
    dets = {}
    errors = 0
    unlabelled = 0
    for n, line in enumerate(records, 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        if 'path' not in rec:
            raise ValueError('record %d: no "path"' % n)
        key = os.path.realpath(rec['path'])
        if key in dets:
            raise ValueError('record %d: %s given twice' % (n, rec['path']))
        if key not in truth:
            unlabelled += 1
            dets[key] = []
            continue
        if 'error' in rec or 'faces' not in rec:
            errors += 1
            dets[key] = []
            continue
        out = []
        for face in rec['faces']:
            if 'score' not in face:
                raise ValueError('record %d: a face without "score"' % n)
            out.append((float(face['score']), box_of(face)))
        dets[key] = out
    missing = sum(1 for k in truth if k not in dets)
    if unlabelled:
        warn('detect-eval: %d records of photos not in the labels, left out' % unlabelled)
    return truth, dets, {'photos': len(truth), 'no_record': missing, 'error_records': errors}


def self_test():
    """Known answers for the matching, the operating point and AP."""
    failures = []

    def check(name, got, want):
        if abs(got - want) > 1e-9:
            failures.append('%s: got %r, want %r' % (name, got, want))

    face = (0.0, 0.0, 10.0, 10.0)
    check('iou same', iou(face, face), 1.0)
    check('iou half', iou(face, (5.0, 0.0, 10.0, 10.0)), 50 / 150)
    check('iou apart', iou(face, (20.0, 0.0, 10.0, 10.0)), 0.0)
    check('iou touching', iou(face, (10.0, 0.0, 10.0, 10.0)), 0.0)

    # One photo, two faces; three detections: a good hit, a duplicate of it, a miss.
    truth = {'a': [(0, 0, 10, 10), (100, 100, 10, 10)]}
    dets = {'a': [(0.9, (0, 0, 10, 10)), (0.8, (1, 0, 10, 10)), (0.7, (50, 50, 10, 10))]}
    r = evaluate(truth, dets)
    check('dup tp', r['tp'], 1)
    check('dup fp', r['fp'], 2)
    check('dup fn', r['fn'], 1)
    check('dup precision', r['precision'], 1 / 3)
    check('dup recall', r['recall'], 0.5)
    check('dup f1', r['f1'], 2 * (1 / 3) * 0.5 / (1 / 3 + 0.5))
    check('dup ap', r['ap'], 0.5)

    # Greedy by score: the more certain but worse box takes the face first.
    truth = {'a': [(0, 0, 10, 10)]}
    dets = {'a': [(0.6, (0, 0, 10, 10)), (0.9, (2, 0, 10, 10))]}
    r = evaluate(truth, dets)
    check('greedy tp', r['tp'], 1)
    check('greedy fp', r['fp'], 1)
    check('greedy ap', r['ap'], 1.0)

    # A detection takes the unmatched face it overlaps most, not the first listed.
    truth = {'a': [(0, 0, 10, 10), (4, 0, 10, 10)]}
    dets = {'a': [(0.9, (4, 0, 10, 10)), (0.8, (0, 0, 10, 10))]}
    r = evaluate(truth, dets)
    check('best face tp', r['tp'], 2)

    # The IoU threshold is inclusive: 0.5 exactly is a hit.
    truth = {'a': [(0, 0, 10, 10)]}
    dets = {'a': [(0.5, (0, 0, 10, 5))]}
    check('iou 0.5 inclusive', evaluate(truth, dets)['tp'], 1)
    dets = {'a': [(0.5, (0, 0, 10, 4.9))]}
    check('iou below 0.5', evaluate(truth, dets)['tp'], 0)

    # Detections only match faces of their own photo; a photo without detections misses
    # all its faces; a photo not labelled is ignored.
    truth = {'a': [(0, 0, 10, 10)], 'b': [(0, 0, 10, 10), (20, 20, 10, 10)]}
    dets = {'a': [(0.9, (0, 0, 10, 10))], 'z': [(0.9, (0, 0, 10, 10))]}
    r = evaluate(truth, dets)
    check('photos tp', r['tp'], 1)
    check('photos fp', r['fp'], 0)
    check('photos fn', r['fn'], 2)
    check('photos ap', r['ap'], 1 / 3)

    # AP, all points, with a dip: ranks hit, miss, hit over 2 faces:
    # points (0.5, 1), (0.5, 0.5), (1, 2/3); envelope 1 to recall 0.5, 2/3 to 1.
    truth = {'a': [(0, 0, 10, 10), (100, 0, 10, 10)]}
    dets = {'a': [(0.9, (0, 0, 10, 10)), (0.8, (50, 0, 10, 10)), (0.7, (100, 0, 10, 10))]}
    r = evaluate(truth, dets)
    check('ap dip', r['ap'], 0.5 * 1 + 0.5 * (2 / 3))

    # Tied scores enter together: hit and miss at one score give one point (0.5, 0.5),
    # not (0.5, 1) first.
    dets = {'a': [(0.5, (50, 0, 10, 10)), (0.5, (0, 0, 10, 10))]}
    r = evaluate(truth, dets)
    check('ties ap', r['ap'], 0.25)
    check('ties precision', r['precision'], 0.5)

    # Recall by side: a small face found, a large one missed.
    truth = {'a': [(0, 0, 10, 10), (100, 0, 100, 100)]}
    r = evaluate(truth, {'a': [(0.9, (0, 0, 10, 10))]})
    check('by side small', r['by_side'][0][2:] == (1, 1), True)
    check('by side large', r['by_side'][3][2:] == (1, 0), True)
    check('by side middle', r['by_side'][1][2] + r['by_side'][2][2], 0)

    # Nothing detected, and nothing to find.
    r = evaluate({'a': [(0, 0, 10, 10)]}, {})
    check('none precision', r['precision'], 0.0)
    check('none recall', r['recall'], 0.0)
    check('none ap', r['ap'], 0.0)
    r = evaluate({'a': []}, {'a': [(0.9, (0, 0, 10, 10))]})
    check('no faces fp', r['fp'], 1)
    check('no faces recall', r['recall'], 0.0)

    for f in failures:
        print('detect-eval: self test: ' + f, file=sys.stderr)
    if failures:
        return 1
    print('detect-eval: self test passed')
    return 0


def main(argv):
    args = argv[1:]
    if args == ['--self-test']:
        return self_test()
    as_json = False
    if args and args[0] == '--json':
        as_json = True
        args = args[1:]
    min_iou = 0.5
    root = '.'
    try:
        while len(args) >= 2 and args[0] in ('--iou', '--root'):
            if args[0] == '--iou':
                min_iou = float(args[1])
                if not 0 < min_iou <= 1:
                    raise ValueError
            else:
                root = args[1]
            args = args[2:]
    except ValueError:
        args = []
    if len(args) != 1:
        print('usage: detect-eval.py [--json] [--iou v] [--root dir] LABELS.ndjson < RECORDS\n'
              '       detect-eval.py --self-test', file=sys.stderr)
        return 2
    try:
        truth, dets, seen = load(args[0], sys.stdin,
                                 lambda m: print(m, file=sys.stderr), root)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print('detect-eval: %s' % e, file=sys.stderr)
        return 2
    r = evaluate(truth, dets, min_iou)
    r.update(seen)
    by_side = r.pop('by_side')
    if as_json:
        out = {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
        out['recall_by_side'] = {side_name(lo, hi): {'faces': n, 'tp': found}
                                 for lo, hi, n, found in by_side}
        print(json.dumps(out, sort_keys=True))
    else:
        print('photos %d (no record %d, error records %d), faces %d, detections %d: '
              'tp %d fp %d fn %d' % (r['photos'], r['no_record'], r['error_records'],
                                     r['faces'], r['detections'], r['tp'], r['fp'], r['fn']))
        print('precision %.3f recall %.3f F1 %.3f AP %.3f (IoU >= %g)' %
              (r['precision'], r['recall'], r['f1'], r['ap'], min_iou))
        print('recall by face side in pixels: ' + ', '.join(
            '%s %d/%d' % (side_name(lo, hi), found, n) for lo, hi, n, found in by_side))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
