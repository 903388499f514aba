#!/usr/bin/env python3
"""Lists C functions in host/ longer than a limit (default 150 lines); exits 1 if any.
A function is a top-level line ending in '{' that is not a struct/enum/initializer, up to the
next line that is exactly '}'. Usage: tools/long_functions.py [LIMIT]"""
import pathlib, re, sys

limit = int(sys.argv[1]) if len(sys.argv) > 1 else 150
root = pathlib.Path(__file__).resolve().parent.parent
bad = 0
for f in sorted((root / "host").rglob("*.c")):
    lines = f.read_text(errors="replace").split("\n")
    start = None
    for i, l in enumerate(lines):
        if start is None and l and not l[0].isspace() and l.rstrip().endswith("{") and "(" in l \
                and not re.match(r"(typedef|struct|enum|union|static const|const)\b", l) and "=" not in l:
            start = i
        elif start is not None and l == "}":
            n = i - start + 1
            if n > limit:
                print(f"{f.relative_to(root)}:{start + 1}: {n} lines: {lines[start].strip()}")
                bad += 1
            start = None
print(f"long_functions: {bad} functions over {limit} lines")
sys.exit(1 if bad else 0)
