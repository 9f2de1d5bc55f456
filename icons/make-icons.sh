#!/usr/bin/env bash
# Renders icon.svg into the PNG, ICO and ICNS files tauri.conf.json names.
# Run by hand after editing icon.svg (needs rsvg-convert and ImageMagick's convert);
# the outputs are committed, so builds need neither.
set -euo pipefail
cd "$(dirname "$0")"
render() { rsvg-convert -w "$1" -h "$1" icon.svg -o "$2"; }
render 32 32x32.png
render 128 128x128.png
render 256 128x128@2x.png
render 512 icon.png
tmp=$(mktemp -d)
for s in 16 24 32 48 64 256; do render "$s" "$tmp/$s.png"; done
/usr/bin/convert "$tmp"/16.png "$tmp"/24.png "$tmp"/32.png "$tmp"/48.png "$tmp"/64.png "$tmp"/256.png icon.ico
render 1024 "$tmp/1024.png"
# ICNS: 'icns' + total length, then entries of type + length + PNG bytes.
python3 - "$tmp" <<'PY'
import struct, sys
tmp = sys.argv[1]
entries = [(b"ic07", "128x128.png"), (b"ic08", "128x128@2x.png"), (b"ic09", "icon.png"), (b"ic10", tmp + "/1024.png")]
body = b""
for kind, path in entries:
    data = open(path, "rb").read()
    body += kind + struct.pack(">I", len(data) + 8) + data
open("icon.icns", "wb").write(b"icns" + struct.pack(">I", len(body) + 8) + body)
PY
rm -rf "$tmp"
