#!/usr/bin/env bash
# Create the peers' virtual environments for the image-leakage benchmark, each with its own dependencies
# (they never enter splitcheck's environment):
#   benchmarks/_work/venvs/imagededup   imagededup 0.3.3.post2 (hashing methods only; torchvision is stubbed)
#   benchmarks/_work/venvs/fastdup      fastdup 2.54 (non-commercial licence: a benchmark peer, never a dependency)
# Usage: bash benchmarks/image_leakage/setup_peers.sh [imagededup] [fastdup]   (default: both)
# Re-running is safe: an existing, working venv is kept. PYTHON overrides the interpreter (default python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venvs="${VENVS:-$here/../_work/venvs}"
python="${PYTHON:-python3}"
peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(imagededup fastdup)
mkdir -p "$venvs"

make_venv() {  # name -> path of its python; creates the venv when missing
    local dir="$venvs/$1"
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
        "$dir/bin/python" -m pip install -q --upgrade pip
    fi
    echo "$dir/bin/python"
}

for peer in "${peers[@]}"; do
    case "$peer" in
    imagededup)
        py="$(make_venv imagededup)"
        # imagededup's own metadata pulls torchvision, whose PyPI build fails beside the CPU torch
        # ("operator torchvision::nms does not exist"); its hashing methods never use it, so install the
        # package without dependencies, add what hashing and its imports need, and let the runner put a
        # stub torchvision (peers/stubs) first on sys.path. torch only as the local CPU build.
        "$py" -m pip install -q --no-deps "imagededup==0.3.3.post2"
        "$py" -m pip install -q "torch==2.13.0" "numpy" "scipy" "Pillow>=9.0" "tqdm" "scikit-learn" \
            "PyWavelets" "matplotlib"
        PYTHONPATH="$here/peers/stubs" "$py" -c "from imagededup.methods import PHash; print('imagededup ok')"
        ;;
    fastdup)
        py="$(make_venv fastdup)"
        "$py" -m pip install -q "fastdup==2.54"
        SENTRY_OPT_OUT=1 "$py" -c "import fastdup; print('fastdup', fastdup.__version__, 'ok')"
        ;;
    *)
        echo "setup_peers.sh: unknown peer '$peer' (expected imagededup or fastdup)" >&2
        exit 2
        ;;
    esac
done
