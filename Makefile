# Two commands on a fresh machine (Python 3.11):
#   make            separate the samples mixdown/sample*.wav into separate/out/
#                   with unet.model (git-ignored: the checkout stays clean)
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

.PHONY: all separate test venv mpi corpus model-data train-model val-model val-channels val-rooms val-low eval-model test-low fit-model clean-build

all: separate

# --- environment ---------------------------------------------------------
# Chainer 7.8.1 (the last release) ships only as an sdist whose setup.py
# imports pkg_resources: it builds with setuptools<74 and without build
# isolation, after NumPy<2 (it calls np.sctypes, removed in NumPy 2).
$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; sys.exit(None if sys.version_info[:2] == (3, 11) else "make: Python 3.11 is needed (Chainer 7.8.1 does not run on 3.12); $(PYTHON) is " + sys.version.split()[0])'
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
# Only the tracked samples, not the mixtures make_dataset.py writes beside
# them; into git-ignored separate/out/, since a fresh run differs from the
# tracked separate/sampleK.wav by ~1e-7 (BLAS rounding differs by machine).
SAMPLES := $(sort $(wildcard mixdown/sample*.wav))
SEPARATED := $(SAMPLES:mixdown/%=separate/out/%)

separate: $(SEPARATED)

separate/out/%.wav: mixdown/%.wav unet.model | $(STAMP)
	$(PY) make_separate.py -i $< -o $@ -m unet.model --overwrite

# The tests run in TEST_WORKERS processes (pytest-xdist; auto: one per core).
TEST_WORKERS ?= auto
test: $(MPI_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q -n $(TEST_WORKERS) tests

# --- the shipped model, from the shared corpus ----------------------------
# docs/MODEL.md: three sides split by speaker and music track
# (scripts/prepare_corpus.py, list in docs/corpus_split.csv). Training mixes
# the training side on the fly (train.py --mix); validation picks models and
# settings; the test side is scored once, for the reported figures.
corpus: $(STAMP)
	$(PY) scripts/prepare_corpus.py --corpus $(CORPUS) --out music_speech

# Fixed mixtures of the held-out sides: the npz validation set train.py
# watches, and for each side evaluate.py items at -5, 0, +5 and +10 dB
# (every speech track once, the music cycled), speech alone and music alone.
EVAL_SNRS := -5 0 5 10
# Every set is made anew (a changed corpus leaves none of its old items),
# under NAME.partial, renamed NAME when whole: an interrupted run leaves no
# set that a later one would take as done. The sets made from them
# (val_low, val_channels, ...) go too.
DATA_SETS := val_stft val_mix val_eval val_eval_stft test_eval test_eval_stft \
    val_low val_low_stft test_low test_low_stft val_channels val_rooms
model-data: corpus
	cd $(BUILD) 2>/dev/null && rm -rf $(DATA_SETS) $(DATA_SETS:=.partial) || true
	$(PY) make_dataset.py -m music_speech/val/music_wav -s music_speech/val/speech_wav \
	    -t $(BUILD)/val_stft.partial -o $(BUILD)/val_mix -b 2 --snr -10 20 --seed 2 --psa
	mv $(BUILD)/val_stft.partial $(BUILD)/val_stft
	for side in val test; do \
	  for snr in $(EVAL_SNRS); do \
	    $(PY) make_dataset.py -m music_speech/$$side/music_wav -s music_speech/$$side/speech_wav \
	        -t $(BUILD)/$${side}_eval_stft/snr$$snr -o $(BUILD)/$${side}_eval.partial/snr$$snr \
	        -b 1 --every-file --snr $$snr --refs || exit 1; \
	  done; \
	  $(PY) make_dataset.py -m music_speech/$$side/music_wav -s music_speech/$$side/speech_wav \
	      -t $(BUILD)/$${side}_eval_stft/speech -o $(BUILD)/$${side}_eval.partial/speech \
	      -b 1 --every-file --alone speech --refs || exit 1; \
	  $(PY) make_dataset.py -m music_speech/$$side/music_wav -s music_speech/$$side/speech_wav \
	      -t $(BUILD)/$${side}_eval_stft/music -o $(BUILD)/$${side}_eval.partial/music \
	      -b 1 --alone music --refs || exit 1; \
	  mv $(BUILD)/$${side}_eval.partial $(BUILD)/$${side}_eval || exit 1; \
	done

# Train on examples mixed on the fly from the training side, continuing from
# unet.model (INIT=none: from scratch), the learning rate falling from LR to
# LR_END over ITERS steps of 16 patches (the defaults are stage 12's recipe
# of docs/MODEL.md, which ran ITERS=6144 SEED=12: music sources drawn
# equally often, music speed perturbed); TRAIN_OPTS gives other train.py
# options (TRAIN_OPTS= for stage 8's length-weighted music); TARGET=vocal_psa
# fits the phase-sensitive target (build/val_stft holds both). Two single-threaded ChainerMN
# processes train about 1.8x faster than one process with two BLAS threads
# on a 2-core machine (docs/BENCHMARKS.md); with a GPU use
# `train.py -g 0 -b 32 --mix --loaders N ...` (docs/SCALING.md).
INIT ?= unet.model
RANKS ?= 2
LR ?= 0.0001
LR_END ?= 0.00001
ITERS ?= 2560
SEED ?= 8
SNR ?= -5 15
OUT ?= result
TARGET ?= vocal
TRAIN_OPTS ?= --balance-music --music-speed 0.9 1.1
train-model: $(MPI_STAMP)
	@test "$(ITERS)" -gt 0 2>/dev/null && test "$(RANKS)" -gt 0 2>/dev/null && \
	    test $$((16 % $(RANKS))) -eq 0 || \
	    { echo "make: ITERS=$(ITERS) RANKS=$(RANKS): give whole numbers above 0, RANKS dividing 16 (the patches of a step)" >&2; exit 1; }
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(VENV)/bin/mpiexec -n $(RANKS) \
	    $(PY) train.py --communicator naive --mix -s music_speech/speech_wav \
	    -m music_speech/music_wav --val-dir $(BUILD)/val_stft --target $(TARGET) \
	    -o $(OUT) -b $$((16 / $(RANKS))) --stop $(ITERS) -f 1 --seed $(SEED) --snr $(SNR) \
	    --lr $(LR) --lr-end $(LR_END) $(if $(filter none,$(INIT)),--init none,--init $(INIT)) \
	    $(TRAIN_OPTS)

# Figures of docs/MODEL.md: the model beside the ideal ratio mask at each SNR
# and alone-condition. val-model picks models and settings (SI-SDR and the
# alone measures, one shift and no speed views, as MODEL.md's validation
# tables since the first session, so checkpoints compare fast); eval-model
# scores the test side, once, for the figures reported.
# EVAL_OPTS adds evaluate.py options (e.g. "--shifts 2 --overlap 16").
MODEL ?= unet.model
EVAL_OPTS ?=
val-model: $(STAMP)
	$(PY) evaluate.py -i $(BUILD)/val_eval -m $(MODEL) --quick --shifts 1 --speeds 1 --csv $(BUILD)/val_eval.csv --overwrite $(EVAL_OPTS)
# The validation items heard through five fixed channels in turn (telephone,
# small speaker, dull, bright, boomy: scripts/channel_items.py), scored
# like val-model: how much a model loses on recordings unlike the corpus's.
val-channels: $(STAMP)
	test -d $(BUILD)/val_channels || $(PY) scripts/channel_items.py -i $(BUILD)/val_eval -o $(BUILD)/val_channels -c mixed
	$(PY) evaluate.py -i $(BUILD)/val_channels -m $(MODEL) --quick --shifts 1 --speeds 1 --csv $(BUILD)/val_channels.csv --overwrite $(EVAL_OPTS)
# The validation items with their speech in three fixed rooms in turn (small
# room, living room, hall: scripts/channel_items.py -c rooms), scored the same way.
val-rooms: $(STAMP)
	test -d $(BUILD)/val_rooms || $(PY) scripts/channel_items.py -i $(BUILD)/val_eval -o $(BUILD)/val_rooms -c rooms
	$(PY) evaluate.py -i $(BUILD)/val_rooms -m $(MODEL) --quick --shifts 1 --speeds 1 --csv $(BUILD)/val_rooms.csv --overwrite $(EVAL_OPTS)
# A side's speech and music mixed 10 and 15 dB under the music (every speech
# file once), below the range the bar judges: $(1) is val or test. Built
# under NAME.partial and renamed when whole, as channel_items.py builds its
# sets, so that an interrupted run is made again, not scored in part.
define low_items
test -d $(BUILD)/$(1)_low || { rm -rf $(BUILD)/$(1)_low.partial $(BUILD)/$(1)_low_stft && \
  for snr in -10 -15; do \
    $(PY) make_dataset.py -m music_speech/$(1)/music_wav -s music_speech/$(1)/speech_wav \
        -t $(BUILD)/$(1)_low_stft/snr$$snr -o $(BUILD)/$(1)_low.partial/snr$$snr -b 1 \
        --every-file --snr $$snr --refs || exit 1; \
  done && mv $(BUILD)/$(1)_low.partial $(BUILD)/$(1)_low; }
endef
# The validation speech and music mixed 10 and 15 dB under the music, below
# the range the models are judged on (docs/MODEL.md, "Limits"), scored the
# same way: whether a model still finds a voice under loud music.
val-low: $(STAMP)
	$(call low_items,val)
	$(PY) evaluate.py -i $(BUILD)/val_low -m $(MODEL) --quick --shifts 1 --speeds 1 --csv $(BUILD)/val_low.csv --overwrite $(EVAL_OPTS)
eval-model: $(STAMP)
	$(PY) evaluate.py -i $(BUILD)/test_eval -m $(MODEL) --oracle irm --csv $(BUILD)/test_eval.csv --overwrite $(EVAL_OPTS)
# The test side at -10 and -15 dB, scored as val-low scores it (SI-SDR only, no oracle), for the report.
test-low: $(STAMP)
	$(call low_items,test)
	$(PY) evaluate.py -i $(BUILD)/test_low -m $(MODEL) --quick --csv $(BUILD)/test_low.csv --overwrite $(EVAL_OPTS)

# How well the model fits the mixtures it was trained on: every FIT_EVERY-th
# training speech and music file (by name), paired afresh at 0 and +5 dB,
# scored beside the ideal ratio mask as val-model scores. A model as far
# from the mask here as on validation is short of capacity or training,
# not of data (docs/MODEL.md, "A sixth session").
FIT_EVERY ?= 6
fit-model: $(STAMP)
	@test -d music_speech/speech_wav && test -d music_speech/music_wav || \
	    { echo "make: music_speech/ has no training side; run make corpus first" >&2; exit 1; }
	rm -rf $(BUILD)/fit $(BUILD)/fit_eval $(BUILD)/fit_stft
	mkdir -p $(BUILD)/fit/speech $(BUILD)/fit/music
	for kind in speech music; do \
	  ls music_speech/$${kind}_wav | LC_ALL=C sort | awk 'NR % $(FIT_EVERY) == 1' | \
	    while read -r name; do \
	      ln -s "$$(realpath "music_speech/$${kind}_wav/$$name")" $(BUILD)/fit/$$kind/ || exit 1; \
	    done || exit 1; \
	done
	for snr in 0 5; do \
	  $(PY) make_dataset.py -m $(BUILD)/fit/music -s $(BUILD)/fit/speech \
	      -t $(BUILD)/fit_stft/snr$$snr -o $(BUILD)/fit_eval/snr$$snr \
	      -b 1 --every-file --snr $$snr --refs || exit 1; \
	done
	$(PY) evaluate.py -i $(BUILD)/fit_eval -m $(MODEL) --oracle irm --quick --shifts 1 --speeds 1 \
	    --csv $(BUILD)/fit_eval.csv --overwrite $(EVAL_OPTS)

clean-build:
	rm -rf $(BUILD)
