# tests/cli/signal-line.py: run a tool, feed it a file on stdin without closing stdin, send it
# a signal, and say how it ended and how many whole lines it wrote; any half line is a failure.
#   signal-line.py [--ignored] SIG WHEN INPUT TOOL [ARG ...]
# WHEN is "writing": as soon as the first byte of output is there (with a line longer than a
# pipe holds, the tool is then inside write(2), and nothing is read until the signal is sent);
# or a number of seconds.
# With --ignored the tool starts with SIG ignored (as under nohup), and stdin is closed after
# the signal, so that a tool that rightly ignores it ends with its status.
import json
import select
import signal
import subprocess
import sys
import time

args = sys.argv[1:]
ignored = args[0] == "--ignored"
if ignored:
    args = args[1:]
sig = getattr(signal, "SIG" + args[0])
when = args[1]
with open(args[2], "rb") as f:
    data = f.read()


def ignore():
    signal.signal(sig, signal.SIG_IGN)


def default():
    # A shell without job control starts background commands with SIGINT ignored, and the
    # tool rightly keeps an ignored signal ignored: start it with SIG's default action.
    signal.signal(sig, signal.SIG_DFL)


p = subprocess.Popen(args[3:], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, preexec_fn=ignore if ignored else default)
p.stdin.write(data)
p.stdin.flush()
if when == "writing":
    if not select.select([p.stdout], [], [], 60)[0]:
        print("no output within 60 s")
        sys.exit(1)
else:
    time.sleep(float(when))
p.send_signal(sig)
if ignored:
    p.stdin.close()
out = p.stdout.read()
rc = p.wait(timeout=60)
if out and not out.endswith(b"\n"):
    print(f"half a line: {len(out)} bytes, the last without a newline")
    sys.exit(1)
lines = out.splitlines()
for line in lines:
    if not isinstance(json.loads(line), dict):
        print("a line that is not an object")
        sys.exit(1)
n = len(lines)
how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
print(f"{how} after {n} whole line{'' if n == 1 else 's'}")
