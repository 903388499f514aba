# (Not a test itself: sourced by tests/cli_libpixloc.sh and tests/cli_deb.sh, after lib_cli.sh.)
# B: the build directory (the binary's); SRC: the source tree.
B=$(dirname "$PX")
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A tiny model (seconds): the comparisons need a model, not a good one.
train_tiny() { # OUT_DIR
    "$PX" train --samples 200 --size 16x16 --channels 4,4 --epochs 2 --batch-size 16 --no-report --quiet --out "$1" \
        >train.log 2>&1 || { cat train.log; return 1; }
}

# PNG images of three sizes from `pixloc generate` (the training recipe, so the model finds the
# bright pixel), in an order that makes the example call the library four times (consecutive
# images of one size go in one call), including a batch of three and a 3 x 2 image.
make_images() {
    local spec
    for spec in "a 3 20x30 1" "b 1 9x13 2" "c 1 3x2 3" "d 1 20x30 4"; do
        set -- $spec
        "$PX" generate --samples "$2" --size "$3" --seed "$4" --out "$1.safetensors" --png "$1" >/dev/null 2>&1 || return 1
    done
    IMAGES=(a/sample_00000.png a/sample_00001.png a/sample_00002.png b/sample_00000.png c/sample_00000.png
        d/sample_00000.png)
}

# cc flags for a program that links this build's libpixloc: a sanitizer build's library needs
# the sanitizer runtime in the program too.
san_flags() { # LIBPIXLOC.so
    # (not `ldd | grep -q`: under pipefail, grep quitting early can fail the pipeline)
    case "$(ldd "$1")" in *libasan*) echo "-fsanitize=address,undefined" ;; esac
}

# Builds examples/predict.c with pkg-config from PKG_DIR (a lib/pkgconfig folder) into OUT.
build_example() { # PKG_DIR OUT
    local flags
    flags=$(PKG_CONFIG_PATH=$1 pkg-config --cflags --libs pixloc) || return 1
    # shellcheck disable=SC2046,SC2086 # word splitting of the flags is wanted
    flags="$flags $(pkg-config --cflags --libs libpng)"
    cc -std=c11 -Wall -Wextra -Werror $(san_flags "$1/../libpixloc.so.0") "$SRC/examples/predict.c" $flags -o "$2"
}

# The example's CSV (LIB_DIR on the library path) must be `pixloc predict`'s on the same images.
same_as_predict() { # EXAMPLE LIB_DIR MODEL
    LD_LIBRARY_PATH=$2 "$1" "$3" "${IMAGES[@]}" >example.csv 2>example.err || { cat example.err; return 1; }
    "$PX" predict --model "$3" "${IMAGES[@]}" >predict.csv 2>predict.err || { cat predict.err; return 1; }
    [ "$(wc -l <predict.csv)" -eq $((${#IMAGES[@]} + 1)) ] || { echo "predict.csv:"; cat predict.csv; return 1; }
    diff predict.csv example.csv
}
