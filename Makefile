# Two commands on a fresh machine (Python 3.11):
#   make            separate the samples in mixdown/ into separate/ with unet.model
#   make test       run the test suite
# Both create the virtual environment in .venv on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
MPI_STAMP := $(VENV)/.installed-mpi
CORPUS ?= ../shared/corpus
BUILD := build

.PHONY: all separate test venv mpi corpus model-data train-model eval-model clean-build

all: separate

# --- environment ---------------------------------------------------------
# Chainer 7.8.1 (the last release) ships only as an sdist whose setup.py
# imports pkg_resources: it builds with setuptools<74 and without build
# isolation, after NumPy<2 (it calls np.sctypes, removed in NumPy 2).
$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed (Chainer 7.8.1 does not run on 3.12)"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet "setuptools<74" wheel
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-build-isolation chainer==7.8.1
	touch $(STAMP)

venv: $(STAMP)

# ChainerMN over MPI: the mpich wheel brings mpiexec, mpi4py binds to it.
$(MPI_STAMP): $(STAMP) requirements-mpi.txt
	$(PIP) install --quiet -r requirements-mpi.txt
	touch $(MPI_STAMP)

mpi: $(MPI_STAMP)

# --- the two quick-start commands ----------------------------------------
separate: $(STAMP)
	$(PY) make_separate.py -i mixdown -o separate -m unet.model --overwrite

test: $(MPI_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q tests

# --- the shipped model, from the shared corpus ----------------------------
corpus: $(STAMP)
	$(PY) scripts/prepare_corpus.py --corpus $(CORPUS) --out music_speech

model-data: corpus
	$(PY) make_dataset.py -m music_speech/music_wav -s music_speech/speech_wav \
	    -t $(BUILD)/train_stft -o $(BUILD)/train_mix -b 5 --snr -5 10 --seed 1
	$(PY) make_dataset.py -m music_speech/music_wav -s music_speech/speech_wav \
	    -t $(BUILD)/train_speed_stft -o $(BUILD)/train_speed_mix -b 10 --snr -5 10 --seed 3 \
	    --speed 0.85 1.15
	$(PY) make_dataset.py -m music_speech/music_wav -s music_speech/speech_wav \
	    -t $(BUILD)/train_psa_stft -o $(BUILD)/train_psa_mix -b 10 --snr -5 10 --seed 5 \
	    --speed 0.85 1.15 --psa
	$(PY) make_dataset.py -m music_speech/val/music_wav -s music_speech/val/speech_wav \
	    -t $(BUILD)/val_stft -o $(BUILD)/val_mix -b 2 --snr -5 10 --seed 2
	$(PY) make_dataset.py -m music_speech/val/music_wav -s music_speech/val/speech_wav \
	    -t $(BUILD)/val_psa_stft -o $(BUILD)/val_psa_mix -b 2 --snr -5 10 --seed 2 --psa
	for snr in -5 0 5; do \
	    $(PY) make_dataset.py -m music_speech/val/music_wav -s music_speech/val/speech_wav \
	        -t $(BUILD)/eval_stft/snr$$snr -o $(BUILD)/eval/snr$$snr -b 2 --snr $$snr --refs; \
	done

# Continue from the shipped model (INIT=) or start afresh (INIT=none) on the
# speed-perturbed set with the phase-sensitive target (stage 6 of
# docs/MODEL.md), the learning rate falling from LR to LR_END over ITERS
# steps of 16 patches. Two single-threaded ChainerMN processes train about
# 1.8x faster than one process with two BLAS threads on a 2-core machine
# (docs/BENCHMARKS.md).
INIT ?= unet.model
RANKS ?= 2
LR ?= 0.0003
LR_END ?= 0.00002
ITERS ?= 5500
SEED ?= 6
TRAIN_SET ?= $(BUILD)/train_psa_stft
VAL_SET ?= $(BUILD)/val_psa_stft
TARGET ?= vocal_psa
train-model: $(MPI_STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(VENV)/bin/mpiexec -n $(RANKS) \
	    $(PY) train.py --communicator naive -t $(TRAIN_SET) --val-dir $(VAL_SET) \
	    --target $(TARGET) -o result -b $$((16 / $(RANKS))) --stop $(ITERS) -f 1 --seed $(SEED) \
	    --lr $(LR) --lr-end $(LR_END) \
	    $(if $(filter none,$(INIT)),--init none,--init $(INIT))

# Validation figures of docs/MODEL.md: model and oracle masks at -5, 0, +5 dB.
MODEL ?= unet.model
eval-model: $(STAMP)
	$(PY) evaluate.py -i $(BUILD)/eval -m $(MODEL) --oracle irm psm --csv $(BUILD)/eval.csv --overwrite

clean-build:
	rm -rf $(BUILD)
