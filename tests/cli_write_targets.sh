#!/usr/bin/env bash
# Where an output goes (generate --out, eval --out, checkpoints): a regular file is replaced
# atomically; a symbolic link keeps being a link and its target gets the data (a dangling link
# creates its target); a character device and a FIFO are written in place, never replaced by a
# regular file. Device nodes and FIFOs are made under a temporary directory, never the system's.
# Usage: bash tests/cli_write_targets.sh path/to/pixloc
# shellcheck source=lib_cli.sh
. "$(dirname "$0")/lib_cli.sh"
GEN=(generate --samples 4 --size 8x8)

"$PX" "${GEN[@]}" --out ref.safetensors >/dev/null 2>&1
check "a regular file is written" [ -s ref.safetensors ]

# A character device: the same major/minor as /dev/null, made here (root).
if mknod null c 1 3 2>/dev/null; then
    "$PX" "${GEN[@]}" --out null >/dev/null 2>&1
    st=$?
    check "generate --out CHARDEV exits 0 (got $st)" [ "$st" -eq 0 ]
    check "the device node is still a character device" [ -c null ]
    "$PX" train --samples 30 --size 8x8 --channels 2 --epochs 1 --batch-size 4 --no-report --quiet --out run >/dev/null 2>&1
    "$PX" eval --model run --out null >/dev/null 2>&1
    check "eval --out CHARDEV leaves a character device" [ -c null ]
else
    echo "skip mknod is not permitted here (not root?)"
fi

# A FIFO: written in place, the reader gets the whole file.
mkfifo pipe
cat pipe >from_pipe &
"$PX" "${GEN[@]}" --out pipe >/dev/null 2>&1
wait
check "the FIFO is still a FIFO" [ -p pipe ]
check "the FIFO's reader got the same bytes as a regular file" cmp -s ref.safetensors from_pipe

# Symbolic links.
"$PX" "${GEN[@]}" --seed 9 --out target.safetensors >/dev/null 2>&1
ln -s target.safetensors link.safetensors
"$PX" "${GEN[@]}" --out link.safetensors >/dev/null 2>&1
check "a symlink stays a symlink" [ -L link.safetensors ]
check "its target now holds the new data" cmp -s ref.safetensors target.safetensors
mkdir sub
ln -s sub/made.safetensors dangling.safetensors
"$PX" "${GEN[@]}" --out dangling.safetensors >/dev/null 2>&1
check "a dangling symlink's target is created through the link" cmp -s ref.safetensors sub/made.safetensors
check "... and the link is kept" [ -L dangling.safetensors ]
# A link into /proc naming a pipe (what /dev/stdout is; a private one, never the system's): the
# pipe gets the data and the link stays.
ln -s /proc/self/fd/1 to_stdout
"$PX" "${GEN[@]}" --out to_stdout 2>/dev/null | cat >via_pipe
# (generate's own messages share that pipe: find the dataset's bytes in it)
check "a /proc link to a pipe is written through (like --out /dev/stdout | ...)" \
    python3 -c 'import sys; sys.exit(open(sys.argv[1],"rb").read() not in open(sys.argv[2],"rb").read())' \
    ref.safetensors via_pipe
check "... and stays a link" [ -L to_stdout ]
check "no temporary files are left" bash -c '! ls -a . sub | grep -q "\.tmp\."'

cli_summary
