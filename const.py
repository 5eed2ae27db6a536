"""Constants shared by the suite: audio, STFT and model numbers, default folders.

Units are given beside each value. Change them only together with a model
trained for the new values: the network sees 512 frequency bins because
``FFT_SIZE`` is 1024.
"""

# Audio
SR = 16000                # Hz, the rate of every mixture, STFT and estimate
FFT_SIZE = 1024           # samples per STFT frame (64 ms at 16 kHz)
H = 512                   # samples, hop between STFT frames (32 ms at 16 kHz)
N_BINS = FFT_SIZE // 2 + 1          # 513 rfft bins, DC included
NET_BINS = N_BINS - 1               # 512 bins the U-Net sees (DC dropped)

# Model and training
PATCH_LENGTH = 128        # frames per network patch (4.1 s at 16 kHz)
PATCH_MULTIPLE = 64       # frames: a patch length must be a multiple of this, as the
                          # U-Net's six stride-2 layers halve the time axis six times
BATCH_SIZE = 64           # patches per training mini-batch
EPOCHS = 30               # sweeps over the training set
VAL_FRACTION = 0.1        # share of npz files held out for validation
LEARNING_RATE = 0.001     # Adam alpha, as in the seed
DROPOUT = 0.5             # on the first three decoder layers

# Mixing on the fly (train.py --mix, mixing.py)
MIX_EPOCH_SIZE = 4096     # patches per epoch (an epoch only paces validation and snapshots)
MIX_SNR_DB = (-10.0, 20.0)  # speech-to-music power ratio drawn per example, dB
MIX_SNR_LIMITS = (-60.0, 60.0)  # the --snr accepted, dB
MIX_SPEED = (0.85, 1.15)  # speech speed factor drawn per example
MIX_MUSIC_SPEED = (1.0, 1.0)  # music speed factor drawn per example (1 to 1: none drawn)
MIX_GAIN_DB = (0.0, 12.0) # patch peak below the normalised full scale, dB (a patch
                          # of a recording mostly peaks within 12 dB of the recording)
MIX_SPEECH_ALONE = 0.1    # share of examples with speech only
MIX_MUSIC_ALONE = 0.1     # share of examples with music only
MIX_TWO_MUSIC = 0.25      # share of examples whose music is two crops summed
MIX_SHORT_MUSIC = ('repeat', 'silence')  # music shorter than a crop: repeated (default) or silence
MIX_NOISE_MUSIC = 0.0     # share of music crops with a synthetic noise-percussion loop
                          # added (train.py --noise-music, noise_loops.py; 0: none drawn)
MIX_NOISE_LEVEL_DB = (-10.0, 10.0)  # that loop's power relative to the music crop's, dB
MIX_COLOUR = 0.0          # share of speech crops, and of music crops, each passed through a
                          # random equaliser (train.py --colour, colouring.py; 0: none drawn)
MIX_COLOUR_MIX = 0.0      # share of examples whose speech and music pass through one and the
                          # same random equaliser (train.py --colour-mix; 0: none drawn)
MIX_REVERB = 0.0          # share of speech crops heard in a random room (train.py --reverb,
                          # reverb.py; 0: none drawn)

# Synthetic rooms (reverb.py): a voice heard across a room
REVERB_RT60_S = (0.2, 1.0)        # reverberation time, seconds to fall 60 dB (log-uniform):
                                  # a furnished small room to a lecture hall
REVERB_DRR_DB = (-3.0, 15.0)      # direct-to-reverberant energy ratio, dB: a distant talker
                                  # to a close microphone
REVERB_PREDELAY_S = (0.002, 0.02) # direct sound to diffuse tail, seconds
REVERB_BAND_EDGES_HZ = (0.0, 500.0, 1000.0, 2000.0, 4000.0, 8001.0)  # the tail's decay bands, Hz
REVERB_HIGH_RT60_SHARE = 0.5      # the highest band's reverberation time, share of the lowest's

# Random colouring (colouring.py): a crop heard through another channel
COLOUR_PIVOT_HZ = 1000.0          # the tilt turns about this frequency, Hz
COLOUR_MIN_HZ = 20.0              # lower frequencies get this one's gain, Hz (DC included)
COLOUR_TILT_DB = 3.0              # tilt drawn within +-this, dB per octave
COLOUR_TILT_SPAN_HZ = (100.0, 8000.0)  # the tilt stops growing outside this band, Hz
COLOUR_BANDS = 3                  # bell-shaped boosts or cuts, 0 to this many
COLOUR_BAND_HZ = (100.0, 6000.0)  # a band's centre, Hz (log-uniform)
COLOUR_BAND_OCTAVES = (0.5, 2.0)  # a band's width (two standard deviations), octaves
COLOUR_BAND_GAIN_DB = (-9.0, 9.0) # a band's gain at its centre, dB
COLOUR_BAND_LIMIT = 0.3           # share of coloured crops also band-limited
COLOUR_HIGH_PASS_HZ = (50.0, 300.0)     # the band limit's lower edge, Hz (log-uniform)
COLOUR_LOW_PASS_HZ = (3400.0, 7500.0)   # its upper edge, Hz (log-uniform; telephone to wide band)
COLOUR_EDGE_DB_PER_OCTAVE = 48.0  # the band limit's roll-off beyond its edges
COLOUR_FLOOR_DB = -60.0           # no frequency is cut further, dB
COLOUR_PAD = 4096                 # zeros after a crop before filtering, samples (256 ms: longer
                                  # than the filters' responses, so none wraps around)

# Training losses (train.py --loss, network.py, signal_loss.py)
LOSSES = ('l1', 'snr', 'snr+sisdr')  # l1: upstream's, on magnitudes; snr: on the estimate's
                          # waveform; snr+sisdr: that and its scale-invariant SDR averaged
WAVEFORM_LOSSES = LOSSES[1:]  # the losses that need the mixture's phase (--mix)
FEEDS = ('drawn', 'separation')  # train.py --feed: the network sees each patch as drawn
                          # (upstream), or equalised and levelled as make_separate.py feeds it
SNR_LOSS_CAP_DB = 40.0    # the SNR loss's cap (--snr-cap): speech alone counts as clean
                          # at 40 dB SNR, music alone asks to be 40 dB below the mixture
SNR_LOSS_CAP_LIMITS = (1.0, 100.0)  # the --snr-cap accepted, dB
SNR_LOSS_EPS = 1e-12      # added to the energies (normalised units), so silence gives no log(0)

# Synthetic noise percussion (noise_loops.py): shaker/brush-like bursts
NOISE_VOICES = 3          # voices in a loop, at most (each its own band and envelope)
NOISE_STEPS = 16          # steps in a bar's pattern
NOISE_TEMPO_BPM = (70.0, 160.0)  # beats per minute
NOISE_SUBDIVISIONS = (2, 4)      # pattern steps per beat
NOISE_ATTACK_S = (0.003, 0.3)    # burst rise time, seconds (log-uniform)
NOISE_DECAY_S = (0.05, 0.6)      # burst fall time to -60 dB, seconds (log-uniform)
NOISE_LOW_HZ = (300.0, 6000.0)   # band's low edge, Hz (log-uniform)
NOISE_BAND_RATIO = (2.0, 16.0)   # high edge over low edge (log-uniform; at most 8 kHz)
NOISE_DENSITY = (0.15, 0.5)      # share of a pattern's steps struck (uniform)
NOISE_VOICE_GAIN_DB = (-12.0, 0.0)  # a voice's level, dB
NOISE_HIT_GAIN_DB = (-6.0, 0.0)     # each hit's level within its voice, dB
MIX_LOADERS = 0           # worker processes drawing examples (0: in the trainer)
STOP_GRACE_S = 10.0       # seconds a stopped ChainerMN rank other than 0 waits before it
                          # ends the run (train.py): rank 0, if stopped too, cleans up first
ABORT_FLUSH_S = 0.5       # seconds a ChainerMN rank waits after its last line before it
                          # ends the run, so that mpiexec passes the line on first (a loaded
                          # machine's mpiexec could end the job with the line unread)
RECALIBRATE_PATCHES = 4096  # examples scripts/recalibrate_bn.py measures the
                          # normalisation statistics over
RECALIBRATE_BATCH = 16    # patches a batch there (train.py's 16 a step)
REFERENCE_MIXING = '--balance-music --music-speed 0.9 1.1'  # train.py options (stage 21's
                          # mixing) that scripts/equalise_reference.py draws its examples
                          # with, and scripts/recalibrate_bn.py by default

# Separation
PATCH_OVERLAP = 64        # frames shared by neighbouring patches (cross-faded): half a
                          # patch, so every frame is masked twice, once near a patch
                          # centre (+0.12 dB SI-SDR, 5 dB less music alone than 16
                          # frames on the validation side for 1.75x the network work,
                          # docs/MODEL.md)
SHIFTS = 2                # separations averaged, their STFT frames offset by H / SHIFTS
                          # samples (+0.26 dB SI-SDR on the 150 evaluation files for 2x
                          # the work, docs/MODEL.md); 1 separates once
MAX_SHIFTS = 16           # the --shifts accepted
SPEEDS = (0.95, 1.05)     # speed views averaged with the mixture as it is (the mixture
                          # resampled to play that many times as fast, separated, played
                          # back): +0.18 dB SI-SDR over the two shifts alone on the
                          # validation side (+0.33 with one shift) for 3x the work
                          # (docs/MODEL.md, "An eighth session"); none: --speeds 1
SPEED_VIEW_LIMITS = (0.8, 1.25)  # the --speeds accepted (the training speech: 0.85 to 1.15)
MAX_SPEED_VIEWS = 8       # the most --speeds accepted
MAX_PATCH_LENGTH = 2048   # frames, the --patch-length accepted (65 s at 16 kHz)
LEVELS = ('patch', 'file') # --level: each patch brought to PATCH_LEVEL_DB (default), or
                          # the whole file scaled by its peak only (upstream)
PATCH_LEVEL_DB = -6.0     # dB re the network's full scale: each patch's peak magnitude
                          # before the network (the middle of MIX_GAIN_DB's training range)
PATCH_MAX_BOOST_DB = 40.0 # dB: the most a patch is raised above the file-peak scaling, so
                          # near-silence is not lifted to full scale
SEPARATE_BATCH = 1        # patches per forward pass in make_separate.py (fastest
                          # and smallest on CPUs, docs/BENCHMARKS.md)
BLOCK_SECONDS = 10.0      # seconds of audio read or written at a time
HARD_MASK_THRESHOLD = 0.5 # upstream ComputeMask's threshold for --hard-mask
MAX_CHANNELS = {'MP3': 2, 'FLAC': 8}   # channels a format holds, where libsndfile limits
                          # them (make_separate.py --keep-channels)
FULL_BAND_SHARE_HZ = (4000.0, 7300.0)  # Hz: make_separate.py --full-band gives the band
                          # above the 16 kHz separation (which the resamplers' filters
                          # leave from about 7.3 kHz) the speech's share of this band
TAIL_PAD = H              # silence after a mixture being separated (Separator, oracles):
                          # its last sample then lies under two frames, not at an edge
EQUALISE = ('boost', 'off')  # --equalise: each patch's bins raised towards the training
                          # mixtures' long-term shape before the network (equalising.py), or not
EQUALISE_OCTAVES = 1.0    # octaves, one standard deviation of the smoothing of a long-term shape
EQUALISE_LIMIT_DB = 12.0  # dB, the most a bin is raised
# The mean long-term shape of the training examples (scripts/equalise_reference.py):
# (Hz, dB re the highest point), third-octave points, smoothed over EQUALISE_OCTAVES
EQUALISE_REFERENCE_DB = (
    (15.6, -1.7), (19.7, -1.4), (24.8, -1.0), (31.2, -0.7),
    (39.4, -0.4), (49.6, -0.2), (62.5, 0.0), (78.7, 0.0),
    (99.2, -0.1), (125.0, -0.3), (157.5, -0.6), (198.4, -1.1),
    (250.0, -1.9), (315.0, -2.8), (396.9, -3.9), (500.0, -5.1),
    (630.0, -6.6), (793.7, -8.2), (1000.0, -10.0), (1259.9, -11.9),
    (1587.4, -13.8), (2000.0, -15.7), (2519.8, -17.4), (3174.8, -18.9),
    (4000.0, -20.2), (5039.7, -21.3), (6349.6, -22.2), (8000.0, -22.9),
)
PEAK_LIMIT = 0.999        # full-scale fraction an integer file is scaled to when the
                          # estimate would clip

# Mixing (make_dataset.py)
MIX_RATIO = 1.0           # speech-to-music amplitude ratio (seed's -r)
LOOP_COUNT = 2            # pairings per music file (seed's -b)
SPEED_LIMITS = (0.5, 2.0) # the --speed factors accepted (beyond them speech is
                          # an octave away from any voice the model should learn)
MIN_PAIR_SAMPLES = FFT_SIZE  # samples at SR (64 ms): a shorter pair is skipped, as it
                             # fills no STFT frame (its magnitudes are mostly padding)

# Default folders and files
PATH_MUSIC = 'music_speech/music_wav'
PATH_SPEECH = 'music_speech/speech_wav'
PATH_MIXDOWN = 'mixdown'
PATH_FFT = 'stft'
PATH_RESULT = 'result'
PATH_SEPARATE = 'separate'
MODEL_FILE = 'unet.model'
MANIFEST = 'manifest.csv'                # make_dataset.py's table of the mixtures it made
REFERENCE_TAGS = ('.speech', '.music')   # NAME.speech.wav, NAME.music.wav: the references
                                         # beside mixture NAME.wav (make_dataset.py --refs)

# Input rates below this are taken for a damaged header, not audio (Hz); no
# output is written below it either
MIN_SAMPLE_RATE = 1000
# make_separate.py --sr HZ above this is refused: the highest rate audio
# interfaces and their files use (libsndfile's own limit, 2**31 - 1 Hz, is
# far past any use: an overflow, or hours of resampling into a huge file)
MAX_OUTPUT_RATE = 768000
# An array given to Separator.separate as (samples, channels) with more
# channels than this and than samples is taken for (channels, samples):
# more than a large studio interface or 7th-order ambisonics carries, so
# that a short clip given as (2, 1000) is refused, not read as 1000 channels
MAX_ARRAY_CHANNELS = 64
# Input samples beyond this many times full scale are taken for a damaged
# file, not audio: their squares and STFT sums would overflow float32
MAX_SAMPLE_LEVEL = 1e9
# evaluate.py: a reference this far (dB) under the other source counts as
# silent, so the item is "speech alone" or "music alone" (rounding where a
# source was silence, in a reference of another bit depth or a lossy one)
ALONE_BELOW_DB = 60.0
# evaluate.py's SDR: BSS-Eval's distortion filter, in taps (fast_bss_eval's and
# museval's 512), fitted to the reference to explain the estimate
SDR_FILTER_TAPS = 512
# evaluate.py: an item shorter than this (samples, 64 ms at 16 kHz: twice the
# filter) has no SI-SDR or SDR (NaN, with a note). Under the filter's length
# the filter fits any estimate (pure noise scored +200 dB SDR), up to twice
# it still most of one; SI-SDR's one scale leaves a few samples no error
EVAL_MIN_SAMPLES = 2 * SDR_FILTER_TAPS
# npz magnitudes beyond this are taken for a damaged file: make_dataset.py
# divides them by the mixture's peak, so they stay within a few times 1
MAX_NPZ_MAGNITUDE = 1e6
# Containers whose header's length libsndfile reports as a claim, not a count:
# an Ogg stream cut short claims 2**63 - 1 samples, an MP3 the length its Xing
# header gives. Their samples are counted by decoding them once.
COUNTED_FORMATS = ('OGG', 'MP3')
COUNT_BLOCK_FRAMES = 65536      # samples decoded at a time while counting
UNKNOWN_FRAMES = 2 ** 62        # a claimed length this long is libsndfile's "unknown"
MP3_HEADER_SCAN_BYTES = 1 << 16  # an MP3's start searched for a Xing/Info/VBRI length header

# Output rates each encoder holds (Hz): libsndfile crashes writing Vorbis above
# 200 kHz, and writes FLAC above 65 535 Hz that reads back only at multiples of 10
VORBIS_MAX_RATE = 200000
FLAC_MAX_RATE = 655350
MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)

# Bytes of samples a file with 32-bit chunk sizes (wav, aiff...) holds: 4 GiB
# less 1 MiB for its header chunks. A longer wav is written as RF64; the
# formats below hold any length, others are refused.
MAX_32BIT_DATA_BYTES = 2 ** 32 - 2 ** 20
# Bytes per sample and channel of make_separate.py's temporary output files
# (32-bit float wav, converted to the output's format at the end): the least
# disk space an output takes while it is made (util.check_free_space).
SINK_SAMPLE_BYTES = 4
LARGE_FILE_FORMATS = ('RF64', 'W64', 'CAF', 'FLAC', 'OGG', 'MP3')

# Temporary files (.NAME.PID.partial): a file name holds at most NAME_MAX bytes
# (ext4, xfs, btrfs, APFS); one whose process is gone and that is unchanged for
# STALE_TEMPORARY_SECONDS is removed by the next run writing to its folder
NAME_MAX = 255
STALE_TEMPORARY_SECONDS = 60

# make_separate.py --keep-clean and --gate-music (passage_gate.py): where the
# speech estimate stands above the threshold over the music estimate, the
# mixture is written as it came in; where the music estimate stands so far
# above the speech estimate, silence
PASSAGE_S = 5.0           # seconds judged at a time (--passage): at 20 dB, 98 % of the
                          # speech-alone validation passages are kept, none of the
                          # mixtures' from -5 to +5 dB and 2.6 % of those at +10 dB, where
                          # the music was quiet (docs/BENCHMARKS.md, "Passages")
PASSAGE_MIN_S = 1.0       # seconds, the shortest --passage accepted: a shorter one holds
                          # too little of a voice to judge
WHOLE_FILE_PASSAGE = 'file'  # --passage file: the whole file judged at once
PASSAGE_FADE_S = 0.1      # seconds over which a kept or silenced passage fades in or out
                          # beside one judged otherwise (raised cosine)

# make_separate.py --keep-channels: every channel under the mask of their mean,
# or each channel separated by itself
CHANNEL_MASKS = ('mean', 'each')

# make_separate.py --format: the file types of the outputs a run names itself (in a
# folder, on stdout); the first is the default
OUTPUT_FORMATS = ('wav', 'flac', 'ogg', 'opus', 'mp3')

# make_dataset.py keeps each file ffmpeg decodes (decoding.DecodedOnce) while the disk
# keeps this much free beside it; past that, a file is decoded again each time
DECODED_KEEP_FREE_BYTES = 1 << 30

# File types read as audio (libsndfile decodes them), and so also written: a
# name with one of these is an output file, one without an output folder
AUDIO_EXTENSIONS = ('.wav', '.flac', '.ogg', '.aiff', '.aif', '.mp3',
                    '.caf', '.au', '.snd', '.w64', '.rf64')
# File types also read, their first audio stream decoded by
# ffmpeg (decoding.py): AAC/ALAC in MPEG-4, the audio of videos, Opus in WebM...
DECODED_EXTENSIONS = ('.m4a', '.mp4', '.m4v', '.mov', '.aac', '.opus', '.webm', '.mkv',
                      '.mka', '.wma', '.avi')
# Every file type the scripts read: libsndfile's and ffmpeg's
READ_EXTENSIONS = AUDIO_EXTENSIONS + DECODED_EXTENSIONS

# Input sample formats deeper than 16 bits: their outputs in FLAC, AIFF, CAF and
# AU default to 24-bit rather than 16 (util.default_subtype); files ffmpeg
# decoded whose header libsndfile cannot read (an m4a: lossy, with no depth
# of their own) keep the 16-bit default
DEEP_SUBTYPES = ('PCM_24', 'PCM_32', 'FLOAT', 'DOUBLE', 'ALAC_20', 'ALAC_24', 'ALAC_32',
                 'DWVW_24')

# Samples written and read back, in memory, to tell whether an output's sample
# format keeps a file's length (util.keeps_length): a prime, so that no block
# codec's block and no even-count padding divides it
LENGTH_PROBE_SAMPLES = 1009

# The largest size a RIFF wav's 32-bit fields hold, in bytes: a wav from a pipe
# past it says this and goes on (util.overflowed_wav_length)
WAV_SIZE_LIMIT = 2 ** 32 - 1

# Bytes of a wav's start searched for its data chunk, to tell a recording whose
# length was never written from an empty one (util.unwritten_wav_length)
WAV_SCAN_BYTES = 1 << 16

# train.py --mix skips a speech or music file whose peak is below this, dB of full
# scale: dither or a cancelled channel mean, not a recording (mixing.unusable)
SILENT_PEAK_DB = -60.0

# train.py's upper limits: a mini-batch, an epoch of --mix patches (Chainer's
# iterator keeps an 8-byte index of each, in memory and in every snapshot) and
# the worker processes that draw them (each holds the audio, ~200 MB)
MAX_BATCH_SIZE = 4096
MAX_EPOCH_SIZE = 1000000
MAX_LOADERS = 64
