#!/usr/bin/env bash
# One prepared run on a lent GPU machine (Python 3.12, NumPy 2, CuPy for
# CUDA 13, no network): prove `-g 0` for make_separate.py and train.py, then
# train with examples mixed on the fly for SECONDS_OF_TRAINING.
#
# Carried beside the working tree: .whl/ (wheels for Python 3.12: chainer
# 7.8.1, soundfile, soxr, cffi, pycparser, librosa 0.10.2.post1, audioread,
# pooch, platformdirs, decorator; the machine has numba, scipy and
# lazy_loader) and .devdata/ (the training side as Opus,
# scripts/device_pack.sh). Results go to $OUT: the console log, the
# trainer's log, the last model and the mean of the checkpoints nearest 2/3,
# 5/6 and the end, split into 15 MB parts (the device returns files of at
# most 16 MiB, 64 MiB in all); join them with `cat model.part* > model`.
# With B_OPTS a second run trains beside the first (see below), and each
# returns its last model only.
#
# Everything else it writes (the wheels installed, the GPU separation, the
# runs' folders and consoles, the averaged model) goes under WORK, by
# default a new folder of its own (mktemp -d; the console names it), so a
# rehearsal on a CPU clears and fills nothing outside it. A second call
# that needs the first one's models gives both the same WORK=DIR.
#
# Usage (device tool): bash scripts/device_run.sh SECONDS_OF_TRAINING
set -uo pipefail
TRAIN_SECONDS=${1:-420}
GPU=${GPU:-0}          # GPU=-1 BATCH=2 rehearses the script on a CPU
BATCH=${BATCH:-32}
INIT=${INIT:-unet.model}       # the model training continues from
LR=${LR:-0.0001}; LR_END=${LR_END:-0.00001}; SEED=${SEED:-13}   # stage 12's recipe
STOP=${STOP:-}                 # iterations; empty: as many as the time allows
TRAIN_OPTS=${TRAIN_OPTS:-}     # more train.py options, e.g. "--loss snr --snr-cap 30"
EPOCH=${EPOCH:-8192}           # patches between saved models (-f 1)
# SKIP_CHECKS=1 goes straight to training (a second call, checks done)
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/device_run.XXXXXX")} || exit 1
OUT=${OUT:-$WORK/out}  # the device tool sets OUT: what is written there comes back
mkdir -p "$WORK" "$OUT" || exit 1
exec > >(tee "$OUT/console.txt") 2>&1
export PYTHONUNBUFFERED=1
step() { echo "=== $(date +%T) $*"; }
fail() { echo "=== FAILED: $*"; exit 1; }
step "work folder $WORK, results in $OUT"

PY=${PY:-python3}      # PY=.venv/bin/python NO_WHEELS=1 for that rehearsal
if [ -z "${NO_WHEELS:-}" ]; then
  step "install carried wheels"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$WORK/site" .whl/*.whl || fail "pip install"
  export PYTHONPATH=$WORK/site:$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

if [ "$GPU" -ge 0 ] && [ -z "${SKIP_CHECKS:-}" ]; then
  step "smoke test: U-Net forward, backward, Adam on GPU 0 against the CPU"
  $PY scripts/device_smoke.py || fail "smoke test"
fi

if [ -z "${SKIP_CHECKS:-}" ]; then
step "make_separate.py -g 0 against the committed CPU output"
$PY make_separate.py -g "$GPU" -i mixdown/sample1.wav -o "$WORK/sep_gpu.wav" -m unet.model \
    --overwrite || fail "make_separate.py -g 0"
$PY - "$WORK/sep_gpu.wav" <<'EOF' || fail "GPU separation differs from the CPU's"
import sys
import soundfile as sf, numpy as np
gpu, _ = sf.read(sys.argv[1], dtype='float64')
cpu, _ = sf.read('separate/sample1.wav', dtype='float64')
assert len(gpu) == len(cpu), (len(gpu), len(cpu))
err = 10 * np.log10(np.sum(cpu ** 2) / max(np.sum((gpu - cpu) ** 2), 1e-30))
print('GPU vs CPU separation of sample1.wav: {} samples, signal-to-difference {:.1f} dB'.format(
    len(gpu), err))
assert err > 60
EOF
fi

# train_run NAME INIT LR LR_END SEED LOADERS OPTS: one train.py on the GPU
# into $WORK/NAME, its console in $WORK/NAME.txt. train.py --stop-seconds ends
# the run on a saved model when the training time is spent, and lays the
# learning-rate ramp over that time (or over --stop, whichever is further
# on), so no throughput probe is needed.
train_run() {
  local name=$1 init=$2 lr=$3 lr_end=$4 seed=$5 loaders=$6 opts=$7
  rm -rf "$WORK/$name"     # a second call with the same WORK starts clean
  timeout -k 20 $((TRAIN_SECONDS + 90)) $PY train.py -g $GPU -b $BATCH --mix \
      -s .devdata/speech -m .devdata/music --loaders "$loaders" --target vocal --init "$init" \
      --snr -5 15 --balance-music --music-speed 0.9 1.1 $opts -o "$WORK/$name" \
      --epoch-size $EPOCH --stop "${STOP:-1000000}" --stop-seconds "$TRAIN_SECONDS" \
      --seed "$seed" -f 1 --lr "$lr" --lr-end "$lr_end" > "$WORK/$name.txt" 2>&1
  echo "train.py ($name) exit status $?" >> "$WORK/$name.txt"
}
# report NAME: the run's console summary and log, and its last model in 15 MB parts.
report() {
  local name=$1
  echo "--- $name"
  tr '\r' '\n' < "$WORK/$name.txt" | grep -v '^\s*$\|this epoch\|total \[\|iters/sec\|iter, ' | tail -40
  cp "$WORK/$name/log" "$OUT/${name}_log.json" 2>/dev/null
  last=$(ls -v "$WORK/$name"/model_[0-9]* 2>/dev/null | tail -1)
  [ -n "$last" ] || fail "$name: no model written"
  split -b 15M "$last" "$OUT/${name}_$(basename "$last").part"
}

# B_OPTS set: a second run (B_INIT, B_LR, B_LR_END, B_SEED; the first run's
# values where unset) trains beside the first on the same GPU, the loader
# processes shared between them. Then each run returns its last model only
# (the device returns 64 MiB at most: two 25 MB models as train.py writes them).
if [ -n "${B_OPTS:-}" ]; then
  step "train.py -g $GPU, two runs side by side: ${TRAIN_SECONDS} s of training each"
  train_run run "$INIT" $LR $LR_END $SEED 7 "$TRAIN_OPTS" & first=$!
  train_run run_b "${B_INIT:-$INIT}" ${B_LR:-$LR} ${B_LR_END:-$LR_END} ${B_SEED:-$((SEED + 1))} 7 "$B_OPTS" &
  wait $first $!      # by number: a bare wait would also wait for the console's tee
  report run
  report run_b
  step "done: $(ls "$OUT" | tr '\n' ' ')"
  exit 0
fi

step "train.py -g $GPU: ${TRAIN_SECONDS} s of training${STOP:+ or $STOP iterations}, whichever first"
rm -f "$WORK/avg_last3"
train_run run "$INIT" $LR $LR_END $SEED 14 "$TRAIN_OPTS"
report run
# The mean of the checkpoints nearest 2/3, 5/6 and the end of the run (how
# stage 12 was shipped); the device returns 64 MiB at most, so two models
# (the last as train.py writes it, 25 MB; the mean compressed, 23 MB).
picked=$($PY - "$WORK/run" <<'PYEOF'
import glob, os, re, sys
steps = sorted(int(re.sub(r'.*_', '', p)) for p in glob.glob(os.path.join(sys.argv[1], 'model_[0-9]*')))
end = steps[-1]
near = lambda t: min(steps, key=lambda s: abs(s - t))
print(' '.join(os.path.join(sys.argv[1], 'model_{}'.format(s))
               for s in sorted({near(end * 2 / 3), near(end * 5 / 6), end})))
PYEOF
)
echo "averaging: $picked"
if [ "$(echo $picked | wc -w)" -gt 1 ]; then
  $PY scripts/average_models.py $picked -o "$WORK/avg_last3" \
      && split -b 15M "$WORK/avg_last3" "$OUT/avg_last3.part"
fi
step "done: $(ls "$OUT" | tr '\n' ' ')"
