# tests/cli/png-pixel.py: what fer-annotate's tests look at in a PNG it wrote, without an
# imaging library: 8-bit gray or RGB, not interlaced, as lib/image writes them.
#   png-pixel.py FILE            prints "WIDTH HEIGHT"
#   png-pixel.py FILE X Y ...    prints "R G B" of each pixel, one a line
import struct
import sys
import zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width, height, ctype = 8, b"", 0, 0, 0
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        assert depth == 8 and ctype in (0, 2) and interlace == 0, "an unexpected PNG"
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
if len(sys.argv) == 2:
    print(width, height)
    sys.exit(0)
bpp = 3 if ctype == 2 else 1
raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
for y in range(height):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if f == 1:
            line[i] = (line[i] + a) & 255
        elif f == 2:
            line[i] = (line[i] + b) & 255
        elif f == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
args = sys.argv[2:]
for k in range(0, len(args), 2):
    x, y = int(args[k]), int(args[k + 1])
    px = rows[y][x * bpp:(x + 1) * bpp]
    print(*(px if bpp == 3 else px * 3))
