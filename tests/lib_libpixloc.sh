# (Not a test itself: sourced by tests/cli_libpixloc.sh and tests/cli_deb.sh, after lib_cli.sh.)
# B: the build directory (the binary's); SRC: the source tree.
B=$(dirname "$PX")
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A tiny model (seconds): the comparisons need a model, not a good one.
train_tiny() { # OUT_DIR
    "$PX" train --samples 200 --size 16x16 --channels 4,4 --epochs 2 --batch-size 16 --no-report --quiet --out "$1" \
        >train.log 2>&1 || { cat train.log; return 1; }
}

# An 8-bit PGM of H x W noise (awk's generator, seeded) with one bright pixel at (X, Y).
pgm() { # FILE H W X Y SEED
    LC_ALL=C awk -v h="$2" -v w="$3" -v bx="$4" -v by="$5" -v seed="$6" 'BEGIN {
        srand(seed); printf "P5\n%d %d\n255\n", w, h
        for (y = 0; y < h; y++) for (x = 0; x < w; x++) printf "%c", (x == bx && y == by) ? 250 : 1 + int(rand() * 90)
    }' >"$1"
}

# Images of three sizes in an order that makes the example call the library four times
# (consecutive images of one size go in one call), including a batch of three.
make_images() {
    pgm a1.pgm 20 30 4 7 1
    pgm a2.pgm 20 30 25 15 2
    pgm a3.pgm 20 30 0 0 3
    pgm b1.pgm 9 13 12 8 4
    pgm c1.pgm 1 1 0 0 5
    pgm a4.pgm 20 30 17 2 6
    IMAGES=(a1.pgm a2.pgm a3.pgm b1.pgm c1.pgm a4.pgm)
}

# cc flags for a program that links this build's libpixloc: a sanitizer build's library needs
# the sanitizer runtime in the program too.
san_flags() { # LIBPIXLOC.so
    if ldd "$1" | grep -q libasan; then echo "-fsanitize=address,undefined"; fi
}

# Builds examples/predict.c with pkg-config from PKG_DIR (a lib/pkgconfig folder) into OUT.
build_example() { # PKG_DIR OUT
    local flags
    flags=$(PKG_CONFIG_PATH=$1 pkg-config --cflags --libs pixloc) || return 1
    # shellcheck disable=SC2046,SC2086 # word splitting of the flags is wanted
    cc -std=c11 -Wall -Wextra -Werror $(san_flags "$1/../libpixloc.so.0") "$SRC/examples/predict.c" $flags -o "$2"
}

# The example's CSV (LIB_DIR on the library path) must be `pixloc predict`'s on the same images.
same_as_predict() { # EXAMPLE LIB_DIR MODEL
    LD_LIBRARY_PATH=$2 "$1" "$3" "${IMAGES[@]}" >example.csv 2>example.err || { cat example.err; return 1; }
    "$PX" predict --model "$3" "${IMAGES[@]}" >predict.csv 2>predict.err || { cat predict.err; return 1; }
    [ "$(wc -l <predict.csv)" -eq $((${#IMAGES[@]} + 1)) ] || { echo "predict.csv:"; cat predict.csv; return 1; }
    diff predict.csv example.csv
}
