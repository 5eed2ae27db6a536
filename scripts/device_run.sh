#!/usr/bin/env bash
# One prepared run on a lent GPU machine (Python 3.12, NumPy 2, CuPy for
# CUDA 13, no network): prove `-g 0` for make_separate.py and train.py, then
# train with examples mixed on the fly for the time that is left.
#
# Carried beside the working tree: .whl/ (wheels for Python 3.12: chainer
# 7.8.1, soundfile, soxr, cffi, pycparser, librosa 0.10.2.post1, audioread,
# pooch, platformdirs, decorator; the machine has numba, scipy and
# lazy_loader) and .devdata/ (the training side as Opus,
# scripts/device_pack.sh). Results go to $OUT: the console log, the
# trainer's log, the last model and the mean of the checkpoints nearest 2/3,
# 5/6 and the end, split into 15 MB parts (the device returns files of at
# most 16 MiB, 64 MiB in all); join them with `cat model.part* > model`.
#
# Usage (device tool): bash scripts/device_run.sh SECONDS_OF_TRAINING
set -uo pipefail
TRAIN_SECONDS=${1:-420}
GPU=${GPU:-0}          # GPU=-1 PROBE=6 BATCH=2 rehearses the script on a CPU
PROBE=${PROBE:-150}    # iterations of the throughput probe
BATCH=${BATCH:-32}
INIT=${INIT:-unet.model}       # the model training continues from
LR=${LR:-0.0001}; LR_END=${LR_END:-0.00001}; SEED=${SEED:-13}   # stage 12's recipe
STOP=${STOP:-}                 # iterations; empty: measured by the probe
EPOCH=${EPOCH:-8192}           # patches between saved models (-f 1)
# SKIP_CHECKS=1 goes straight to training (a second call, checks done)
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee "$OUT/console.txt") 2>&1
export PYTHONUNBUFFERED=1
step() { echo "=== $(date +%T) $*"; }
fail() { echo "=== FAILED: $*"; exit 1; }

PY=${PY:-python3}      # PY=.venv/bin/python NO_WHEELS=1 for that rehearsal
if [ -z "${NO_WHEELS:-}" ]; then
  step "install carried wheels"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || fail "pip install"
  export PYTHONPATH=/tmp/site:$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader

if [ "$GPU" -ge 0 ] && [ -z "${SKIP_CHECKS:-}" ]; then
  step "smoke test: U-Net forward, backward, Adam on GPU 0 against the CPU"
  $PY scripts/device_smoke.py || fail "smoke test"
fi

if [ -z "${SKIP_CHECKS:-}" ]; then
step "make_separate.py -g 0 against the committed CPU output"
$PY make_separate.py -g "$GPU" -i mixdown/sample1.wav -o /tmp/sep_gpu.wav -m unet.model --overwrite \
    || fail "make_separate.py -g 0"
$PY - <<'EOF' || fail "GPU separation differs from the CPU's"
import soundfile as sf, numpy as np
gpu, _ = sf.read('/tmp/sep_gpu.wav', dtype='float64')
cpu, _ = sf.read('separate/sample1.wav', dtype='float64')
assert len(gpu) == len(cpu), (len(gpu), len(cpu))
err = 10 * np.log10(np.sum(cpu ** 2) / max(np.sum((gpu - cpu) ** 2), 1e-30))
print('GPU vs CPU separation of sample1.wav: {} samples, signal-to-difference {:.1f} dB'.format(
    len(gpu), err))
assert err > 60
EOF
fi

TRAIN="$PY train.py -g $GPU -b $BATCH --mix -s .devdata/speech -m .devdata/music
       --loaders 14 --target vocal --init $INIT --snr -5 15 --balance-music --music-speed 0.9 1.1"
if [ -z "$STOP" ]; then
step "train.py -g 0: throughput probe"
rm -rf /tmp/probe
$TRAIN -o /tmp/probe --epoch-size $((PROBE / 3 * BATCH)) --stop $PROBE --seed 100 -f -1 > /tmp/probe.txt 2>&1 \
    || { tail -30 /tmp/probe.txt; fail "train.py -g 0 probe"; }
RATE=$($PY - <<'EOF'
import json
log = json.load(open('/tmp/probe/log'))
a, b = log[-2], log[-1]
print('{:.2f}'.format((b['iteration'] - a['iteration']) / (b['elapsed_time'] - a['elapsed_time'])))
EOF
) || fail "reading the probe's log"
# The probe reads faster than a long run keeps up (17.4 against 13.6 steps/s
# on the H200, 2026-11-26: worker start-up, saving models): aim at 3/4.
STOP=$($PY -c "print(max(256, int($RATE * $TRAIN_SECONDS * 0.75) // 256 * 256))")
echo "probe: $RATE iterations/s at 32 patches; training $STOP iterations"
fi

step "train.py -g 0: $STOP iterations"
timeout -k 20 $((TRAIN_SECONDS + 30)) $TRAIN -o /tmp/run --epoch-size $EPOCH --stop "$STOP" --seed $SEED -f 1 \
    --lr $LR --lr-end $LR_END > /tmp/train.txt 2>&1
echo "train.py exit status $?"
tr '\r' '\n' < /tmp/train.txt | grep -v '^\s*$\|this epoch\|total \[\|iters/sec\|iter, ' | tail -40
cp /tmp/run/log "$OUT/train_log.json" 2>/dev/null
last=$(ls -v /tmp/run/model_[0-9]* 2>/dev/null | tail -1)
[ -n "$last" ] || fail "no model written"
split -b 15M "$last" "$OUT/$(basename "$last").part"
# The mean of the checkpoints nearest 2/3, 5/6 and the end of the run (how
# stage 12 was shipped); the device returns 64 MiB at most, so two models.
picked=$($PY - <<'EOF'
import glob, re
steps = sorted(int(re.sub(r'.*_', '', p)) for p in glob.glob('/tmp/run/model_[0-9]*'))
end = steps[-1]
near = lambda t: min(steps, key=lambda s: abs(s - t))
print(' '.join('/tmp/run/model_{}'.format(s) for s in sorted({near(end * 2 / 3), near(end * 5 / 6), end})))
EOF
)
echo "averaging: $picked"
if [ "$(echo $picked | wc -w)" -gt 1 ]; then
  $PY scripts/average_models.py $picked -o /tmp/avg_last3 && split -b 15M /tmp/avg_last3 "$OUT/avg_last3.part"
fi
step "done: $(ls "$OUT" | tr '\n' ' ')"
