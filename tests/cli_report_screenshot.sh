#!/usr/bin/env bash
# Renders a report of a realistic fake run in headless Chromium and checks that the
# screenshot is a real page (large, many colours, mostly not one colour), i.e. the
# page and its images load from disk without network access.
# Skips (exit 77, which CTest reports as skipped) when chromium or python3 is not installed.
#   bash tests/cli_report_screenshot.sh PATH/TO/pixloc [OUT.png]
set -u
PIXLOC=${1:?usage: cli_report_screenshot.sh PATH/TO/pixloc [OUT.png]}
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}print_suppressions=0"
here=$(cd "$(dirname "$0")" && pwd)

browser=""
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null; then browser=$b; break; fi
done
if [ -z "$browser" ]; then echo "SKIP: chromium not installed (apt-get install chromium)"; exit 77; fi
if ! command -v python3 >/dev/null; then echo "SKIP: python3 not installed"; exit 77; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash "$here/cli_report.sh" --make-run "$tmp/run" || { echo "FAIL: fake run"; exit 1; }
"$PIXLOC" report "$tmp/run" >/dev/null || { echo "FAIL: pixloc report"; exit 1; }

shot=${2:-$tmp/shot.png}
# HOME in tmp: chromium writes its profile there, not into the user's home.
HOME=$tmp timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --no-first-run --disable-extensions --user-data-dir="$tmp/profile" \
    --screenshot="$shot" --window-size=1200,2400 "file://$tmp/run/report/index.html" \
    >"$tmp/browser.log" 2>&1
if [ ! -s "$shot" ]; then
    echo "FAIL: no screenshot"; cat "$tmp/browser.log"; exit 1
fi

# Decode the PNG (zlib + scanline filters) and look at it.
python3 - "$shot" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif typ == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), f"unexpected PNG type {depth}/{ctype}"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, i = bytearray(stride), [], 0
for _ in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line))
    prev = line
counts = {}
for r in rows[::3]:
    for x in range(0, stride, bpp * 3):
        k = r[x:x + 3]
        counts[k] = counts.get(k, 0) + 1
total = sum(counts.values())
top = max(counts.values()) / total
print(f"screenshot {w}x{h}, {len(data)} bytes, {len(counts)} colours, most common {100 * top:.1f}%")
ok = w >= 1000 and h >= 2000 and len(counts) > 200 and top < 0.9
# Viridis' dark end (the heatmaps) must be visible: the sample grid image loaded.
dark = sum(v for k, v in counts.items() if abs(k[0] - 68) < 8 and k[1] < 12 and abs(k[2] - 84) < 8)
print(f"viridis-dark pixels sampled: {dark}")
ok = ok and dark > 100
print("ok: screenshot looks like a page" if ok else "FAIL: screenshot is blank or incomplete")
sys.exit(0 if ok else 1)
EOF
