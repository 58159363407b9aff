#!/bin/sh
# Time song-featurize against aubiotrack on real, compressed music: one process per file,
# one core (--jobs 1), decode included, CPU time (user + system, from getrusage) best of -r
# runs (3) per file, per format and over all.
#
#   scripts/bench/formats.sh [-r reps] [-d dir]
#
# The music is the set scripts/refdata/real-music.sh makes (default /work/data/formats, or
# $FM_REAL_MUSIC): the Ogg Vorbis tracks of Debian's hyperrogue-music (CC-BY-SA-3.0) and
# Opus, AAC (M4A) and MP3 transcodes of four of them. Without it the benchmark says how to
# make it and exits 0. SONG_FEATURIZE names the binary (build/bin/song-featurize).
# Exit status: 0 when song-featurize, computing every descriptor, takes at most the CPU time
# of aubiotrack (tempo only) over all the files, 1 otherwise, 2 on a usage error or a
# missing tool.
set -eu

cd "$(dirname "$0")/../.."
FM=${SONG_FEATURIZE:-build/bin/song-featurize}
reps=3
dir=${FM_REAL_MUSIC:-/work/data/formats}

usage() {
	echo "usage: scripts/bench/formats.sh [-r reps] [-d dir]" >&2
	exit 2
}
while getopts r:d: opt; do
	case $opt in
	r) reps=$OPTARG ;;
	d) dir=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
case $reps in '' | *[!0-9]* | 0) usage ;; esac
for tool in aubiotrack; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "bench-formats: $tool is missing (scripts/deps.sh bench)" >&2
		exit 2
	fi
done
if [ ! -x "$FM" ]; then
	echo "bench-formats: $FM is not built (make)" >&2
	exit 2
fi
if [ ! -d "$dir/ogg" ]; then
	echo "bench-formats: no real music in $dir: make it with scripts/refdata/real-music.sh" >&2
	exit 0
fi
echo "song-featurize on real compressed music ($dir): $(nproc) CPUs," \
	"aubio-tools $(dpkg-query -W -f='${Version}' aubio-tools 2>/dev/null || echo '?')"
/usr/bin/python3 - "$FM" "$dir" "$reps" <<'PY'
import json, os, resource, subprocess, sys

fm, top, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])


def cpu(argv):
    """CPU seconds of one run, or None when it failed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        return None
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def seconds(path):
    out = subprocess.run([fm, path], capture_output=True, text=True)
    return json.loads(out.stdout).get("duration")


rows, total = [], [0.0, 0.0, 0.0, 0]
for fmt in ("ogg", "opus", "m4a", "mp3"):
    d = os.path.join(top, fmt)
    if not os.path.isdir(d):
        continue
    files = sorted(os.path.join(d, f) for f in os.listdir(d))
    audio = ours = theirs = 0.0
    n = 0
    for f in files:
        a = [cpu(["aubiotrack", "-i", f]) for _ in range(reps)]
        o = [cpu([fm, "--jobs", "1", f]) for _ in range(reps)]
        if None in a or None in o:
            # Both must read the file for the times to compare (aubio reads through
            # FFmpeg, which refuses a few Ogg files that song-featurize gives libsndfile).
            print("skipped %s: %s failed on it" % (f, "aubiotrack" if None in a else fm))
            continue
        audio += seconds(f)
        ours += min(o)
        theirs += min(a)
        n += 1
    rows.append((fmt, n, audio, ours, theirs))
    total = [total[0] + audio, total[1] + ours, total[2] + theirs, total[3] + n]
rows.append(("all", total[3], total[0], total[1], total[2]))
print("%-6s %5s %9s %16s %16s %7s" % ("format", "files", "audio s", "song-featurize",
                                       "aubiotrack", "ratio"))
for fmt, n, audio, ours, theirs in rows:
    print("%-6s %5d %9.1f %7.2f s %5.0fx %7.2f s %5.0fx %7.2f" % (
        fmt, n, audio, ours, audio / ours, theirs, audio / theirs, ours / theirs))
print("ratio: song-featurize's CPU time over aubiotrack's (one process per file, best of %d)"
      % reps)
sys.exit(0 if total[1] <= total[2] else 1)
PY
