#!/usr/bin/env python3
"""Renders a terminal capture (script(1) output: text, carriage returns, erase-line and colour escapes) as the screen
it leaves, in SVG:  scripts/terminal-svg.py CAPTURE COLUMNS [FRAME_BYTES] > picture.svg
FRAME_BYTES stops the replay after that many bytes, to show the screen at that moment (e.g. with a status line)."""
import html
import re
import sys

capture = open(sys.argv[1], 'rb').read().decode('utf-8', 'replace')
columns = int(sys.argv[2])
if len(sys.argv) > 3:
    capture = capture[:int(sys.argv[3])]
# script(1) adds a header and a trailer line of its own.
capture = capture.split('\n', 1)[1] if capture.startswith('Script started') else capture
capture = re.sub(r'\nScript done.*', '', capture, flags=re.S)

rows = [[]]
row, col, style = 0, 0, ''
for token in re.findall(r'\x1b\[[0-9;]*[A-Za-z]|.', capture, flags=re.S):
    if token.startswith('\x1b['):
        code, kind = token[2:-1], token[-1]
        if kind == 'K':
            del rows[row][col:]
        elif kind == 'm':
            style = '' if code in ('', '0') else code
        continue
    if token == '\r':
        col = 0
    elif token == '\n':
        row, col = row + 1, 0
        while len(rows) <= row:
            rows.append([])
    else:
        if col >= columns:
            row, col = row + 1, 0
            while len(rows) <= row:
                rows.append([])
        line = rows[row]
        while len(line) < col:
            line.append((' ', ''))
        if col < len(line):
            line[col] = (token, style)
        else:
            line.append((token, style))
        col += 1
while rows and not rows[-1]:
    rows.pop()

colours = {'31': '#e06c75', '32': '#98c379', '33': '#e5c07b', '36': '#56b6c2'}
char_w, line_h, pad = 7.2, 16, 12
width = int(columns * char_w + 2 * pad)
height = int(len(rows) * line_h + 2 * pad)
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
       'font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">',
       f'<rect width="100%" height="100%" rx="6" fill="#1e2127"/>']
for i, line in enumerate(rows):
    if not line:
        continue
    y = pad + (i + 1) * line_h - 4
    spans, current, text = [], None, ''
    for ch, st in line + [(None, None)]:
        if st != current and text:
            spans.append((current, text))
            text = ''
        if ch is None:
            break
        current = st
        text += ch
    parts = []
    for st, text in spans:
        codes = st.split(';') if st else []
        attrs = ' font-weight="bold"' if '1' in codes else ''
        fill = next((colours[c] for c in codes if c in colours), '#dcdfe4')
        parts.append(f'<tspan fill="{fill}"{attrs}>{html.escape(text)}</tspan>')
    out.append(f'<text x="{pad}" y="{y}" xml:space="preserve">{"".join(parts)}</text>')
out.append('</svg>')
print('\n'.join(out))
