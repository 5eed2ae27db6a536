"""Measure how well speech is separated: SI-SDR(i), SDR, PESQ and STOI per file.

A folder of mixtures is scored against reference speech. The layout is the
one ``make_dataset.py --refs`` writes: ``NAME.wav`` (mixture) with
``NAME.speech.wav`` and, when present, ``NAME.music.wav`` beside it, and
``manifest.csv`` (its ``snr_db`` column groups the results by input SNR).
Alternatively ``--ref DIR`` holds the speech references matched by name
(``NAME.speech.wav`` or ``NAME.wav``). Without --ref, a mixture in the
folder with no reference at all beside it is left out, counted in a note,
the settings and the summary.

The speech estimates being scored are any of

* ``-m MODEL``: made on the fly by make_separate.py's own ``Separator``;
* ``--est DIR``: files matched by name (what ``make_separate.py -i MIX -o DIR``
  writes), which must have the mixture's length;
* ``--oracle irm|ibm|psm``: the ideal ratio ``|S| / (|S| + |M|)``, binary
  ``|S| > |M|`` or truncated phase-sensitive ``|S| cos(angle S - angle X) /
  |X|`` (in [0, 1]) mask on the suite's STFT with the mixture's phase: the
  ceilings a mask-based separator of this STFT could reach (psm is the one
  ``train.py --target vocal_psa`` aims at).

Per file and method: SI-SDR of the estimate and of the mixture against the
speech reference (dB), their difference SI-SDRi, SDR (BSS-Eval with a
512-tap distortion filter, fast_bss_eval), wide-band PESQ and STOI. All
signals are compared at 16 kHz mono. Means per method (and per rounded input
SNR) are printed as a table; ``--csv`` writes every per-file value.
``--quick`` leaves out SDR, PESQ and STOI, the slow metrics, to compare
checkpoints on a validation set.

Usage: python3 evaluate.py -i build/eval/snr0 -m unet.model --oracle irm ibm psm
       python3 evaluate.py --mix DIR --ref DIR --est separate --csv scores.csv
"""
import interrupts  # first: Ctrl-C while the rest loads is one line, not a traceback
if __name__ == '__main__':
    interrupts.quiet_while_loading()

import argparse
import csv
import math
import os
import sys
import warnings

import numpy as np
from tqdm import tqdm

import cli
import const
import decoding
import make_separate
import mixing
import util

PROG = 'evaluate.py'
ORACLES = ('irm', 'ibm', 'psm')
ORACLE_NAMES = {'irm': 'ratio', 'ibm': 'binary', 'psm': 'phase-sensitive'}
ORACLE_LABEL_PREFIX = 'oracle-'     # an ideal mask's method label: oracle-irm ...
ORACLE_LABELS = tuple(ORACLE_LABEL_PREFIX + kind for kind in ORACLES)   # none other's label
SPEECH_TAG, MUSIC_TAG = const.REFERENCE_TAGS    # '.speech', '.music'
LIMIT_DB = 200.0   # |SI-SDR| and |SDR| are capped here: an exact copy would be +inf
# passthrough: SI-SDR of the output against the input where the input is
# speech alone; leak_db: output energy relative to the input where it is
# music alone (both NaN for mixtures of the two).
METRICS = ('si_sdr', 'si_sdr_mix', 'si_sdri', 'sdr', 'pesq', 'stoi', 'passthrough', 'leak_db')
CONDITIONS = ('speech alone', 'music alone')   # inputs with one source silent
SOURCE_KINDS = ('speech', 'music')             # --by: group by the source of either
CSV_COLUMNS = (('name', 'method', 'snr_db', 'condition', 'seconds') + METRICS
               + ('speech_source', 'music_source', 'notes'))


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='Score speech estimates against reference speech')
    parser.add_argument('--mix', '-i', '--input', dest='mix', default=const.PATH_MIXDOWN,
                        metavar='DIR',
                        help='folder of mixtures NAME.wav with NAME.speech.wav (and '
                             'NAME.music.wav) beside them, as make_dataset.py --refs '
                             'writes (default: %(default)s)')
    parser.add_argument('--ref', '-r', default=None, metavar='DIR',
                        help='folder of speech references matched by name '
                             '(NAME.speech.wav or NAME.wav; NAME.music.wav optional) '
                             'instead of the files beside the mixtures')
    parser.add_argument('--model', '-m', action='append', default=None, metavar='MODEL',
                        help='separate with this U-Net (repeat to compare models; '
                             'default {} when neither --est nor --oracle is '
                             'given)'.format(const.MODEL_FILE))
    parser.add_argument('--est', '-e', action='append', default=None, metavar='DIR',
                        help='folder of speech estimates matched by name (repeatable)')
    parser.add_argument('--oracle', nargs='+', choices=ORACLES, default=[],
                        help='also score ideal masks: ratio (irm), binary (ibm), phase-sensitive (psm)')
    parser.add_argument('--quick', action='store_true',
                        help='only SI-SDR and the speech-alone / music-alone measures, '
                             'without BSS SDR, PESQ and STOI (the slow ones): for '
                             'choosing among models on a validation set')
    parser.add_argument('--hard-mask', action='store_true',
                        help='binary model mask (threshold {}), as make_separate.py '
                             '--hard-mask'.format(const.HARD_MASK_THRESHOLD))
    make_separate.add_separation_options(parser, ' for -m')
    parser.add_argument('--gpu', '-g', type=int, default=-1,
                        help='GPU id for -m; negative for the CPU (default: %(default)s)')
    parser.add_argument('--by', action='append', choices=SOURCE_KINDS, default=[],
                        help='also tabulate by speech or music source (repeatable): the '
                             'file name in manifest.csv up to "__", e.g. wesnoth for '
                             'wesnoth__battle.flac')
    parser.add_argument('--csv', '-c', default=None, metavar='FILE',
                        help='write every per-file value here (one row per file and method)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --csv file')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def pilot_parser(prog, description, epilog):
    """evaluate.py's options (``build_parser``) under the name ``prog`` of a
    script that scores them another way, with its own ``description`` and
    an ``epilog`` naming what else sets it (environment variables)."""
    parser = build_parser()
    parser.prog, parser.description, parser.epilog = prog, description, epilog
    return parser


def evaluate_replaced(args, replacements):
    """``evaluate_main(args)`` with each ``(owner, name, value)`` of
    ``replacements`` set as ``owner.name`` for the run and put back after:
    how the pilot scripts score a separation changed in one place."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    for owner, name, value in replacements:
        setattr(owner, name, value)
    try:
        return evaluate_main(args)
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def main(argv=None):
    return cli.main(PROG, build_parser(), evaluate_main, argv)


# --------------------------------------------------------------------------
# Metrics

def si_sdr(estimate, reference):
    """Scale-invariant SDR in dB of ``estimate`` against ``reference``.

    Both ``(samples,)`` of the same length. Means are removed, then with
    ``alpha = <est, ref> / <ref, ref>``:
    ``10 log10(|alpha ref|^2 / |alpha ref - est|^2)`` (Le Roux et al. 2019).
    Capped at +-``LIMIT_DB`` (an exact copy would be +inf); NaN when
    either signal is constant (silent), where no scale is defined.
    """
    est = np.asarray(estimate, dtype=np.float64)
    ref = np.asarray(reference, dtype=np.float64)
    if est.shape != ref.shape or est.ndim != 1:
        raise ValueError('si_sdr needs two 1-D signals of one length, got {} and {}'.format(
            est.shape, ref.shape))
    est = est - est.mean()
    ref = ref - ref.mean()
    ref_energy = np.dot(ref, ref)
    if ref_energy == 0.0 or np.dot(est, est) == 0.0:
        return float('nan')
    target = np.dot(est, ref) / ref_energy * ref
    error = target - est
    signal, distortion = np.dot(target, target), np.dot(error, error)
    limit = 10.0 ** (LIMIT_DB / 10.0)
    if distortion * limit <= signal:
        return LIMIT_DB
    if signal * limit <= distortion:
        return -LIMIT_DB
    return float(10.0 * np.log10(signal / distortion))


def soundless(signal, what='estimate'):
    """Why ``signal`` carries no sound, or None: ``'the estimate is
    silent'`` (all zeros) or ``'the estimate is a constant (DC) offset'``
    (two samples or more), ``what`` naming it."""
    values = np.asarray(signal, np.float64)
    if not np.any(values):
        return 'the {} is silent'.format(what)
    if len(values) > 1 and np.ptp(values) == 0.0:
        return 'the {} is a constant (DC) offset'.format(what)
    return None


TOO_SHORT = 'the signal is too short'     # too_short's words; paired.py looks for them


def too_short(samples):
    """Why SI-SDR and SDR are undefined for signals of ``samples`` samples
    (fewer than ``const.EVAL_MIN_SAMPLES``), or None."""
    if samples >= const.EVAL_MIN_SAMPLES:
        return None
    return TOO_SHORT + ' ({} sample{}, {:.1f} ms; at least {}, {:.1f} ms)'.format(
        samples, cli.plural(samples), 1000.0 * samples / const.SR, const.EVAL_MIN_SAMPLES,
        1000.0 * const.EVAL_MIN_SAMPLES / const.SR)


class MetricUndefined(Exception):
    """A metric that has no value for these signals; the message says why."""


def bss_sdr(estimate, reference):
    """BSS-Eval SDR in dB of one source (fast_bss_eval, ``const.SDR_FILTER_TAPS``-tap
    distortion filter), capped at +-``LIMIT_DB`` as ``si_sdr``; undefined
    for signals shorter than ``const.EVAL_MIN_SAMPLES``, which the filter fits.

    One source needs no permutation search, so this is ``-sdr_loss``, the
    value ``fast_bss_eval.sdr`` gives, which fails on an exact copy.
    """
    import fast_bss_eval
    why = too_short(len(reference)) or soundless(estimate)
    if why:
        raise MetricUndefined(why)
    try:
        with np.errstate(all='ignore'), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            value = -fast_bss_eval.sdr_loss(np.asarray(estimate, np.float64)[None],
                                            np.asarray(reference, np.float64)[None],
                                            filter_length=const.SDR_FILTER_TAPS)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
        raise MetricUndefined(str(err) or type(err).__name__) from None
    value = float(np.asarray(value).ravel()[0])
    if math.isnan(value):
        raise MetricUndefined('not a number (singular system)')
    return min(LIMIT_DB, max(-LIMIT_DB, value))


def pesq_wb(estimate, reference):
    """Wide-band PESQ (MOS-LQO, about 1 to 4.6) at 16 kHz."""
    import pesq
    why = soundless(estimate)
    if why:
        raise MetricUndefined(why)      # pesq's own error: "cannot convert float NaN"
    try:
        return float(pesq.pesq(const.SR, np.asarray(reference, np.float32),
                               np.asarray(estimate, np.float32), 'wb'))
    except (pesq.PesqError, ValueError) as err:
        reason = err.args[0] if err.args else type(err).__name__
        if isinstance(reason, bytes):
            reason = reason.decode(errors='replace')
        raise MetricUndefined(str(reason)) from None


def stoi(estimate, reference):
    """STOI (0 to 1) at 16 kHz; undefined when too little of the reference is
    above pystoi's silence threshold (it would return 1e-5).

    A silent or constant estimate scores 0, pystoi's value for silence:
    nothing of it correlates with the speech. (pystoi scales each segment
    of the estimate to the reference's level, so the trace of a constant
    that its window leaks into the bands had scored whatever that trace
    happened to correlate to, the same at any offset: -0.07 for one test
    signal, 0.24 for another.)
    """
    import pystoi
    with np.errstate(all='ignore'), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            value = pystoi.stoi(np.asarray(reference, np.float64),
                                np.asarray(estimate, np.float64), const.SR)
        except (ValueError, IndexError):    # shorter than one of its frames (~26 ms)
            raise MetricUndefined(TOO_SHORT + ' ({} sample{}, {:.3f} s)'.format(
                len(reference), cli.plural(len(reference)), len(reference) / const.SR)) from None
    for warning in caught:
        if 'Not enough STFT frames' in str(warning.message):
            raise MetricUndefined('fewer than 30 non-silent frames (too short or quiet)')
    if soundless(estimate):
        return 0.0
    value = float(value)
    if not math.isfinite(value):
        raise MetricUndefined('not finite')
    return value


def condition_of(speech, music):
    """``'speech alone'``, ``'music alone'`` or None (both, or neither).

    A source more than ``const.ALONE_BELOW_DB`` under the other counts as
    absent: a reference stored at another bit depth than its mixture (or
    decoded from a lossy file) leaves a trace of rounding where the source
    was silence."""
    energies = [float(np.dot(np.asarray(x, np.float64), np.asarray(x, np.float64)))
                for x in (speech, music)]
    floor = sum(energies) * 10.0 ** (-const.ALONE_BELOW_DB / 10.0)
    has_speech, has_music = (energy > floor for energy in energies)
    if has_speech != has_music:
        return CONDITIONS[0] if has_speech else CONDITIONS[1]
    return None


def level_db(estimate, mixture):
    """Energy of ``estimate`` relative to ``mixture`` in dB, at least
    -``LIMIT_DB`` (a silent output); NaN for a silent ``mixture``."""
    out = float(np.dot(np.asarray(estimate, np.float64), np.asarray(estimate, np.float64)))
    into = float(np.dot(np.asarray(mixture, np.float64), np.asarray(mixture, np.float64)))
    if into == 0.0:
        return float('nan')
    return max(-LIMIT_DB, 10.0 * math.log10(out / into)) if out > 0.0 else -LIMIT_DB


def score(estimate, speech, mixture, music=None, quick=False):
    """``({metric: value}, [notes])`` for one speech estimate.

    ``estimate``, ``speech`` (reference), ``mixture`` and ``music``
    (reference; None: ``mixture - speech``): ``(samples,)`` at 16 kHz, one
    length. Music alone is scored by ``leak_db`` only; speech alone by
    ``passthrough`` and the metrics against the speech, without the SI-SDR
    gain (the input is already clean). A silent (or constant) estimate of a
    sounding voice scores ``-LIMIT_DB`` SI-SDR (and passthrough), with a note: the voice is
    lost, and NaN would leave the file out of every mean and worst. Another
    metric undefined for these signals (silence, shorter than
    ``const.EVAL_MIN_SAMPLES`` for SI-SDR and SDR, too short for PESQ or
    STOI) is NaN with a note saying which and why. ``quick``
    leaves out the slow metrics, SDR, PESQ and STOI (NaN, without a note).
    """
    notes = []
    nan = float('nan')
    values = dict.fromkeys(METRICS, nan)
    condition = condition_of(speech, mixture - speech if music is None else music)
    if condition == 'music alone':
        values['leak_db'] = level_db(estimate, mixture)
        return values, notes
    if not np.any(speech):
        notes.append('speech reference is silent: no metric is defined')
        return values, notes
    values.update(scale_invariant(estimate, speech, mixture, condition, notes))
    slow = (('sdr', bss_sdr), ('pesq', pesq_wb), ('stoi', stoi))
    for key, metric in () if quick else slow:
        try:
            values[key] = metric(estimate, speech)
        except MetricUndefined as err:
            values[key] = nan
            notes.append('{}: {}'.format(key, err))
    return values, notes


def scale_invariant(estimate, speech, mixture, condition, notes):
    """``{si_sdr, si_sdr_mix, si_sdri, passthrough}`` (dB) of ``estimate``
    for a sounding ``speech`` reference, as ``score`` gives them; a note
    for each that is undefined, or floored for a lost voice, is added to
    ``notes``."""
    nan = float('nan')
    values = dict(si_sdr=nan, si_sdr_mix=nan, si_sdri=nan, passthrough=nan)
    why = too_short(len(speech)) or soundless(speech, 'speech reference')
    if why:
        notes.append('si_sdr: ' + why)
        return values
    values.update(si_sdr=si_sdr(estimate, speech), si_sdr_mix=si_sdr(mixture, speech))
    why = soundless(estimate)
    if math.isnan(values['si_sdr']) and why:
        # The voice is lost whole, the worst outcome: scored as the floor, since
        # NaN would drop the file from every mean and worst.
        values['si_sdr'] = -LIMIT_DB
        notes.append('si_sdr: {} (the voice is lost: {:g} dB)'.format(why, -LIMIT_DB))
    if condition == 'speech alone':
        values['passthrough'] = values['si_sdr']
        values['si_sdr_mix'] = nan
    elif math.isnan(values['si_sdr_mix']):
        notes.append('si_sdr_mix: ' + (soundless(mixture, 'mixture') or 'not defined'))
    values['si_sdri'] = values['si_sdr'] - values['si_sdr_mix']
    return values


# --------------------------------------------------------------------------
# Estimates

def oracle_speech(mixture, speech, music, kind):
    """Speech estimate of an ideal mask, ``(samples,)`` float32, the mixture's length.

    ``kind`` ``'irm'``: ``|S| / (|S| + |M|)`` (0 where both are 0);
    ``'ibm'``: ``|S| > |M|``; ``'psm'``: the truncated phase-sensitive mask
    ``util.phase_sensitive_magnitude(S, X) / |X|``. ``S``, ``M`` and the mixture ``X`` are the
    suite's STFTs (``util.stft``) of the signals padded by ``const.TAIL_PAD``
    zeros, as the separator pads them; ``mask * X`` is inverted and trimmed back.
    """
    n = len(mixture)
    pad = np.zeros(const.TAIL_PAD, np.float32)
    spec_mix, spec_speech, spec_music = (
        util.stft(np.concatenate([np.asarray(x, np.float32), pad]))
        for x in (mixture, speech, music))
    s, m = np.abs(spec_speech), np.abs(spec_music)
    if kind == 'irm':
        total = s + m
        mask = np.divide(s, total, out=np.zeros_like(s), where=total > 0)
    elif kind == 'ibm':
        mask = (s > m).astype(np.float32)
    elif kind == 'psm':
        x = np.abs(spec_mix)
        mask = np.divide(util.phase_sensitive_magnitude(spec_speech, spec_mix), x,
                         out=np.zeros_like(x), where=x > 0)
    else:
        raise ValueError('oracle kind must be one of {}, got {!r}'.format(ORACLES, kind))
    return util.istft(mask * spec_mix, n + const.TAIL_PAD)[:n]


class ModelMethod:
    """Speech estimated by a U-Net through make_separate.py's ``Separator``."""

    def __init__(self, label, path, args):
        self.label, self.path = label, path
        self.separator = make_separate.load_separator(
            path, args.gpu, args.hard_mask, overlap=args.overlap, shifts=args.shifts,
            length=args.patch_length, level=args.level, speeds=args.speeds,
            equalise=args.equalise)
        self.settings = make_separate.separation_settings(args)

    def describe(self):
        return 'model {}; {}'.format(self.path, '; '.join(
            '{} {}'.format(name, text) for name, text in self.settings))

    def estimate(self, item):
        return self.separator.separate(item.mixture)[0]


class FolderMethod:
    """Speech estimates read from a folder, matched by the mixture's name."""

    def __init__(self, label, folder):
        self.label, self.folder = label, folder
        self.index = index_by_name(folder)

    def describe(self):
        return 'estimates in {}'.format(self.folder)

    def path_of(self, item):
        """The estimate of ``item``: named as its mixture, with or without the
        mixture's extension (make_separate.py keeps it where stems clash:
        a.wav and A.flac give a.wav.wav and A.flac.wav); None if none."""
        path = self.index.get(item.name)
        if path is None:
            path = self.index.get(item.name + os.path.splitext(item.mixture_path)[1])
        return path

    def estimate(self, item):
        path = self.path_of(item)
        if path is None:
            raise util.AudioError('{}: no estimate in {} (looked for {}.wav or another '
                                  'audio type)'.format(item.name, self.folder,
                                                       os.path.join(self.folder, item.name)))
        signal = rounded_to(decoding.load_audio(path), path, item.mixture, item.mixture_path)
        if len(signal) != len(item.mixture):
            raise util.AudioError(
                '{}: the estimate has {} samples at {} Hz but its mixture {} has {}; '
                'estimates must have the mixture\'s length (nothing is trimmed)'.format(
                    path, len(signal), const.SR, item.mixture_path, len(item.mixture)))
        return signal


class OracleMethod:
    """Speech of an ideal ratio or binary mask (needs the music reference)."""

    def __init__(self, kind):
        self.kind = kind
        self.label = ORACLE_LABEL_PREFIX + kind

    def describe(self):
        return 'ideal {} mask'.format(ORACLE_NAMES[self.kind])

    def estimate(self, item):
        return oracle_speech(item.mixture, item.speech, item.music, self.kind)


def build_methods(args):
    """The estimators to score, in the order given: models, folders, oracles;
    each labelled apart from all the others and from ``ORACLE_LABELS``
    (``unique_labels``)."""
    models, folders = args.model or [], args.est or []
    given_once('-m', models)
    given_once('--est', folders)
    oracles = [OracleMethod(kind) for kind in dict.fromkeys(args.oracle)]
    labels = unique_labels(models + folders, ORACLE_LABELS)
    methods = [ModelMethod(label, path, args) for label, path in zip(labels, models)]
    methods += [FolderMethod(label, folder)
                for label, folder in zip(labels[len(models):], folders)]
    return methods + oracles


def given_once(option, paths):
    """A ``UserError`` where ``option`` names one file or folder twice (its
    rows would be scored twice under two labels and its counts doubled)."""
    seen = {}
    for path in paths:
        key = os.path.realpath(path)
        if key in seen:
            raise cli.UserError('{} {}: given twice ({} is the same); give each once'.format(
                option, path, seen[key]) if seen[key] != path else
                '{} {}: given twice; give each once'.format(option, path))
        seen[key] = path


def unique_labels(paths, taken=()):
    """Labels of the models and folders ``paths``: their base names, unless
    one is shared with another path or with a label in ``taken`` (every
    oracle's, requested or not, so that a CSV row labelled oracle-irm is
    always the ideal mask's), then the path itself (``path_label``). Rows are told apart by
    their label, so two methods of one label would be scored as one.

    ``given_once`` leaves no two paths to one file or folder, and a model
    is not a folder, so the normalised paths differ; each holds a '/', which
    neither a base name nor an oracle's label does."""
    names = [os.path.basename(os.path.normpath(p)) or p for p in paths]
    every = names + list(taken)
    return [path_label(p) if every.count(n) > 1 else n for p, n in zip(paths, names)]


def path_label(path):
    """``path`` normalised, with ``./`` before a bare name (``model_best``
    becomes ``./model_best``) so that it reads as a path."""
    path = os.path.normpath(path)
    return path if os.sep in path else os.path.join(os.curdir, path)


# --------------------------------------------------------------------------
# Finding mixtures, references and estimates

class Item:
    """One mixture with the paths of its references; signals filled by ``load``."""

    def __init__(self, name, mixture_path, speech_path, music_path, snr_db, looked_for='',
                 sources=None):
        self.name = name                    # relative path without extension
        self.mixture_path = mixture_path
        self.speech_path = speech_path      # None when missing
        self.looked_for = looked_for        # where the speech reference was sought
        self.music_path = music_path        # None: mixture - speech
        self.snr_db = snr_db                # from manifest.csv, or None
        self.sources = sources or {}        # {'speech': name, 'music': name} from manifest.csv
        self.mixture = self.speech = self.music = None

    def load(self):
        """Read the signals (16 kHz mono); all must have the mixture's length."""
        if self.speech_path is None:
            raise util.AudioError('{}: no speech reference (looked for {})'.format(
                self.mixture_path, self.looked_for))
        self.mixture = decoding.load_audio(self.mixture_path)
        if len(self.mixture) == 0:
            raise util.AudioError('{}: holds no samples'.format(self.mixture_path))
        self.speech = self._reference(self.speech_path)
        if self.music_path is None:
            self.music = self.mixture - self.speech
        else:
            self.music = self._reference(self.music_path)

    def _reference(self, path):
        signal = rounded_to(decoding.load_audio(path), path, self.mixture, self.mixture_path)
        if len(signal) != len(self.mixture):
            raise util.AudioError('{}: {} samples at {} Hz but the mixture {} has {}; a '
                                  'reference must have its mixture\'s length'.format(
                                      path, len(signal), const.SR, self.mixture_path,
                                      len(self.mixture)))
        return signal

    def release(self):
        self.mixture = self.speech = self.music = None


def rounded_to(signal, path, mixture, mixture_path):
    """``signal`` (16 kHz, read from ``path``) with its last sample dropped or
    a zero added where it is one sample longer or shorter than ``mixture``
    and the two files are not both at 16 kHz: the same duration, rounded
    apart on the way to 16 kHz (a 44.1 kHz mixture of 132 301 samples is
    48 000 at 16 kHz, a reference made at 16 kHz of it 48 001). Otherwise
    ``signal`` as it is."""
    if abs(len(signal) - len(mixture)) != 1:
        return signal
    if native_rate(path) == const.SR and native_rate(mixture_path) == const.SR:
        return signal
    return signal[:len(mixture)] if len(signal) > len(mixture) else np.pad(signal, (0, 1))


def native_rate(path):
    """``path``'s own sample rate in Hz, None for a file ffmpeg decodes."""
    if decoding.needs_decoding(path):
        return None
    return util.audio_info(path).samplerate


def name_of(path, root):
    """``path`` relative to ``root`` without its extension, '/'-separated."""
    return os.path.splitext(os.path.relpath(path, root))[0].replace(os.sep, '/')


def index_by_name(folder):
    """``{name: path}`` of the audio files below ``folder`` (first by sort
    order; a warning names each file left out for another of its name)."""
    index = {}
    for path in util.find_audio(folder, const.READ_EXTENSIONS):
        name = name_of(path, folder)
        if name in index:
            print('warning: {} and {} are both named {}; using the first'.format(
                index[name], path, name), file=sys.stderr)
            continue
        index[name] = path
    return index


def find_mixtures(args):
    """``(root, [mixture paths])``: reference-tagged files and files inside the
    --ref/--est folders are not mixtures."""
    if not os.path.exists(args.mix):
        raise cli.UserError('-i {}: no such folder'.format(args.mix))
    if not os.path.isdir(args.mix):
        return os.path.dirname(args.mix) or '.', [args.mix]
    exclude = [d for d in [args.ref] + (args.est or []) if d]
    if os.path.realpath(args.mix) in map(os.path.realpath, exclude):
        raise cli.UserError('{}: the mixture folder is also given as --ref or --est; '
                            'references beside the mixtures need no --ref, and '
                            'estimates need a folder of their own'.format(args.mix))
    found = util.find_mixtures(args.mix, exclude, const.READ_EXTENSIONS)
    if not found:
        raise cli.UserError('-i {}: no mixtures ({}) in this folder'.format(
            args.mix, ', '.join(const.READ_EXTENSIONS)))
    return args.mix, found


def plan_items(args):
    """An ``Item`` per mixture to score, with its references and manifest
    SNR: ``plan_run``'s items."""
    return plan_run(args)[0]


def plan_run(args):
    """``([Item] to score, [Item] left out)``, each with its references and
    manifest SNR.

    In a folder given without --ref, a mixture with neither reference (no
    speech, no music: the sample mixtures in the default mixdown/) is left
    out, with one note counting them; ``cli.UserError`` if no mixture has a
    speech reference. A mixture with a music reference only stays, to fail
    as an error naming it, and so does a single ``-i`` file and, with
    --ref, a mixture whose reference is missing there (misnamed, say).
    """
    for option, folder in [('--ref', args.ref)] + [('--est', d) for d in args.est or []]:
        if folder is not None and not os.path.isdir(folder):
            raise cli.UserError('{} {}: no such folder'.format(option, folder))
    root, mixtures = find_mixtures(args)
    items = find_items(root, mixtures, args)
    unreferenced = []
    if os.path.isdir(args.mix) and not args.ref:
        unreferenced = [item for item in items if not (item.speech_path or item.music_path)]
        items = [item for item in items if item.speech_path or item.music_path]
    if not any(item.speech_path for item in items):
        where = '--ref {}'.format(args.ref) if args.ref else 'beside the mixtures'
        raise cli.UserError('-i {}: no speech reference for any mixture ({}); write them '
                            'with make_dataset.py --refs, or give --ref DIR'.format(
                                args.mix, where))
    if unreferenced:
        note_unreferenced(unreferenced, args)
    return items, unreferenced


def find_items(root, mixtures, args):
    """An ``Item`` per path in ``mixtures`` (below ``root``), its references
    (``None`` where missing) found beside it or in ``args.ref``."""
    ref_index = index_by_name(args.ref) if args.ref else None
    manifests = Manifests([root] + ([args.ref] if args.ref else []))
    items = []
    for path in mixtures:
        name = name_of(path, root)
        if ref_index is None:
            stem = os.path.splitext(path)[0]
            speech, music = beside(stem + SPEECH_TAG), beside(stem + MUSIC_TAG)
            looked_for = stem + SPEECH_TAG + '.wav'
        else:
            speech = ref_index.get(name + SPEECH_TAG) or ref_index.get(name)
            music = ref_index.get(name + MUSIC_TAG)
            looked_for = '{0}{1}.wav or {0}.wav'.format(os.path.join(args.ref, name),
                                                        SPEECH_TAG)
        items.append(Item(name, path, speech, music, manifests.snr(name), looked_for,
                          manifests.sources(name)))
    return items


def note_unreferenced(items, args):
    """One line on stderr counting the mixtures left out for want of any
    reference beside them, naming the first two."""
    shown = ', '.join(os.path.relpath(item.mixture_path, args.mix) for item in items[:2])
    print('note: -i {}: {} ({}{}): no NAME{}.* or NAME{}.* beside {}'.format(
        args.mix, left_out_text(len(items)), shown, ', ...' if len(items) > 2 else '',
        SPEECH_TAG, MUSIC_TAG, 'it' if len(items) == 1 else 'them'), file=sys.stderr)


def left_out_text(count):
    """'left out N mixtures with no reference', as the note, the settings
    and the summary say it."""
    return 'left out {} mixture{} with no reference'.format(count, cli.plural(count))


def beside(stem):
    """The audio file ``stem.EXT`` (any audio extension, in lower or upper
    case as mixtures are found: ``a.speech.WAV`` beside ``a.WAV``), or None."""
    for ext in const.READ_EXTENSIONS:
        for case in (ext, ext.upper()):
            if os.path.isfile(stem + case):
                return stem + case
    return None


def check_estimates(methods, items):
    """At least one estimate per --est folder must match a mixture."""
    for method in methods:
        if not isinstance(method, FolderMethod):
            continue
        if not method.index:
            raise cli.UserError('--est {}: no audio files in this folder'.format(method.folder))
        if not any(method.path_of(item) for item in items):
            raise cli.UserError('--est {}: no estimate is named like a mixture (e.g. {}.wav); '
                                'make them with make_separate.py -i MIXTURES -o {}'.format(
                                    method.folder, items[0].name, method.folder))


class Manifests:
    """Input SNRs from the ``manifest.csv`` files make_dataset.py --refs writes.

    A mixture ``sub/NAME`` is looked up in ``ROOT/sub/manifest.csv`` (row
    ``name == NAME``) for each root in turn.
    """

    def __init__(self, roots):
        self.roots = roots
        self._tables = {}

    def snr(self, name):
        return self._row(name).get('snr_db')

    def sources(self, name):
        """``{'speech': source, 'music': source}`` of the files mixed into
        ``name`` (``mixing.source_name``); a kind without a file is left out."""
        row = self._row(name)
        return {kind: mixing.source_name(row[kind + '_file']) for kind in SOURCE_KINDS
                if row.get(kind + '_file')}

    def _row(self, name):
        folder, base = os.path.split(name)
        for root in self.roots:
            table = self._table(os.path.join(root, folder, const.MANIFEST))
            if base in table:
                return table[base]
        return {}

    def _table(self, path):
        if path not in self._tables:
            self._tables[path] = read_manifest(path)
        return self._tables[path]


def read_manifest(path):
    """``{name: {'snr_db': dB, 'speech_file': path, 'music_file': path}}``
    from a manifest.csv; ``{}`` if absent or without snr_db.

    An SNR that is not a finite number (silent music gives ``inf``) is None;
    a file column the manifest lacks is left out. A name listed again with a
    different row keeps its last row, with a warning.
    """
    if not os.path.isfile(path):
        return {}
    try:
        with util.open_csv(path) as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {'name', 'snr_db'} <= set(reader.fieldnames):
                print('warning: {}: no name and snr_db columns; results are not grouped '
                      'by SNR'.format(path), file=sys.stderr)
                return {}
            table, repeated = {}, []
            for row in reader:
                entry = dict({key: row[key] for key in ('speech_file', 'music_file')
                              if row.get(key)}, snr_db=parse_snr(row['snr_db']))
                if row['name'] in table and table[row['name']] != entry:
                    repeated.append(row['name'])
                table[row['name']] = entry
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        print('warning: {}: unreadable ({}); results are not grouped by SNR'.format(
            path, err), file=sys.stderr)
        return {}
    if repeated:
        names = sorted(set(repeated))
        print('warning: {}: {} name{} listed again with a different row ({}{}); the last '
              'row of each is used'.format(path, len(names), cli.plural(len(names)),
                                           ', '.join(names[:3]),
                                           ', ...' if len(names) > 3 else ''),
              file=sys.stderr)
    return table


def read_scores(path):
    """The rows (dicts of ``CSV_COLUMNS``) of a file written by ``--csv``;
    ``cli.UserError`` naming the file when it cannot be read or lacks those
    columns."""
    return cli.csv_rows(path, CSV_COLUMNS, 'an evaluate.py --csv file')


def parse_snr(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------
# Running and reporting

def evaluate_item(item, methods, quick=False):
    """``[record]`` for one mixture: a dict of CSV_COLUMNS per method
    (``quick``: without SDR, PESQ and STOI).

    Raises (``cli.USER_ERRORS``) if any estimate of this file fails, so that
    every method's mean is over the same files.
    """
    item.load()
    estimates = [(method, np.asarray(method.estimate(item), np.float32))
                 for method in methods]
    records = []
    for method, estimate in estimates:
        if len(estimate) != len(item.mixture):   # a bug, not the user's input
            raise RuntimeError('{}: {} gave {} samples for {}'.format(
                item.name, method.label, len(estimate), len(item.mixture)))
        values, notes = score(estimate, item.speech, item.mixture, item.music, quick)
        records.append(dict(values, name=item.name, method=method.label,
                            snr_db=item.snr_db, seconds=len(item.mixture) / const.SR,
                            condition=condition_of(item.speech, item.music) or '',
                            speech_source=item.sources.get('speech', ''),
                            music_source=item.sources.get('music', ''),
                            notes='; '.join(notes)))
    return records


def mean(values):
    """Mean of the finite values (NaN when there are none)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else float('nan')


def worst(values, metric):
    """The worst finite value: the highest leak, else the lowest (NaN if none)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return float('nan')
    return max(finite) if metric == 'leak_db' else min(finite)


def summarise(records, labels):
    """``[(method, files, {metric: mean}, {metric: worst})]`` in the order of
    ``labels``."""
    rows = []
    for label in labels:
        mine = [r for r in records if r['method'] == label]
        if mine:
            rows.append((label, len(mine), {k: mean(r[k] for r in mine) for k in METRICS},
                         {k: worst([r[k] for r in mine], k) for k in METRICS}))
    return rows


def group_of(record):
    """Group key: the condition (speech or music alone), else the SNR rounded
    to a whole dB (``snr_group``), None when unknown."""
    if record.get('condition'):
        return record['condition']
    return None if record['snr_db'] is None else snr_group(record['snr_db'])


def snr_group(snr_db):
    """``snr_db`` rounded to a whole dB, halves away from zero (2.5 -> 3,
    -0.5 -> -1), so that +-x fall in the groups +-n: Python's ``round``
    takes halves to the even neighbour (2.5 -> 2, 3.5 -> 4). The fraction
    is compared, not ``floor(x + 0.5)`` taken, as that sum can round up to
    the next whole number (0.49999999999999994 + 0.5 == 1.0)."""
    size = abs(snr_db)
    whole = math.floor(size)
    return int(math.copysign(whole + (size - whole >= 0.5), snr_db))


def group_order(group):
    if isinstance(group, int):
        return (0, group)
    return (1, CONDITIONS.index(group)) if group in CONDITIONS else (2, 0)


def snr_groups(records):
    """``[(group, [record])]`` by ``group_of``, lowest SNR first, then speech
    alone and music alone, unknown last; empty when no record has an SNR or
    condition."""
    if all(group_of(r) is None for r in records):
        return []
    groups = sorted({group_of(r) for r in records}, key=group_order)
    return [(g, [r for r in records if group_of(r) == g]) for g in groups]


def source_groups(records, kind):
    """``[(source, [record])]`` by the ``kind`` ('speech' or 'music') source
    of each record, sorted by name, those without one ('') last."""
    key = kind + '_source'
    sources = sorted({r.get(key, '') for r in records}, key=lambda name: (not name, name))
    return [(name, [r for r in records if r.get(key, '') == name]) for name in sources]


APPLIES_TO = {     # metric: the conditions ('' a mixture) of the items it applies to
    'si_sdr': ('', 'speech alone'), 'si_sdri': ('',), 'si_sdr_mix': ('',),
    'sdr': ('', 'speech alone'), 'pesq': ('', 'speech alone'), 'stoi': ('', 'speech alone'),
    'passthrough': ('speech alone',), 'leak_db': ('music alone',)}


def covered(records):
    """``{metric: number of records with a finite value}``: the files a mean
    and a worst are over."""
    return {k: sum(r[k] is not None and math.isfinite(r[k]) for r in records)
            for k in METRICS}


def applicable(records):
    """``{metric: number of records it applies to}`` (``APPLIES_TO``, by
    each record's condition): the files a mean and a worst could be over."""
    return {k: sum(r.get('condition', '') in APPLIES_TO[k]
                   for r in records) for k in METRICS}


HEADINGS = ('SI-SDR', 'SI-SDRi', 'mix SI-SDR', 'SDR', 'PESQ', 'STOI', 'pass', 'leak dB')
TABLE_METRICS = ('si_sdr', 'si_sdri', 'si_sdr_mix', 'sdr', 'pesq', 'stoi', 'passthrough',
                 'leak_db')
DIGITS = {'pesq': 2, 'stoi': 3}
CELL_WIDTH = 10     # characters, at least, of a table's value column
PARTIAL_NOTE = ('(k/n): that mean and worst are over k of the n files of the method that the '
                'metric\napplies to (mixtures; SI-SDR, SDR, PESQ and STOI speech alone too; '
                'pass speech alone,\nleak music alone only); it is undefined for the others '
                '(a silent estimate, a short\nitem: see the notes above and the --csv rows)')


def format_table(records, labels, by=()):
    """The means as text: one line per method, then per input SNR or condition
    if known, then per speech or music source for each kind in ``by``, each
    followed by the worst file's values ("pass": SI-SDR of the output against
    speech alone; "leak dB": output level for music alone). A mean or worst
    over fewer of the method's files than the metric applies to reads
    "1.18 (2/4)", explained in a last line."""
    sections = [(title, lead, [(key, method_rows(mine, labels)) for key, mine in parts])
                for title, lead, parts in table_sections(records, by)]
    cells = [cell for _, _, parts in sections for _, rows in parts
             for pair in rows for _, _, row in pair for cell in row]
    cell_width = max([CELL_WIDTH] + [len(cell) for cell in cells])
    width = max([len('method (worst)')] + [len(label) + 8 for label in labels])
    head = '{:<{w}}  {:>5}'.format('method', 'files', w=width) + ''.join(
        '  {:>{c}}'.format(h, c=cell_width) for h in HEADINGS)
    lines = []
    for title, lead, parts in sections:
        lead_width = 0 if lead is None else max([12] + [len(key) for key, _ in parts])
        lines += ([''] if lines else []) + [title, '{:>{w}}  '.format(lead, w=lead_width)
                                            + head if lead else head]
        for key, rows in parts:
            for pair in rows:           # the key before the means, not the worst
                for shown, (name, count, row) in zip((key, ''), pair):
                    prefix = '' if lead is None else '{:>{w}}  '.format(shown, w=lead_width)
                    lines.append(prefix + '{:<{w}}  {:>5}'.format(name, count, w=width)
                                 + ''.join('  {:>{c}}'.format(c, c=cell_width) for c in row))
    if any(cell.endswith(')') for cell in cells):
        lines += ['', PARTIAL_NOTE]
    return '\n'.join(lines)


def table_sections(records, by=()):
    """``[(title, lead heading or None, [(key, [record])])]``: all records,
    then by input SNR or condition if known, then by source for each kind
    in ``by``."""
    sections = [('mean over files (SI-SDR, SDR in dB)', None, [('', records)])]
    groups = snr_groups(records)
    if groups:
        sections.append(('by input SNR (manifest snr_db rounded to 1 dB, halves away from 0) '
                         'or condition', 'SNR dB',
                         [(group_name(group), mine) for group, mine in groups]))
    for kind in dict.fromkeys(by):
        sections.append(('by {} source (manifest {}_file; SNR items and alone-conditions '
                         'together)'.format(kind, kind), 'source',
                         [(name or 'n/a', mine) for name, mine in source_groups(records, kind)]))
    return sections


def group_name(group):
    """An SNR group as the table shows it: ``-5``, ``0``, ``+5``, a condition or n/a."""
    if group is None:
        return 'n/a'
    if isinstance(group, str):
        return group
    return '{:+d}'.format(group) if group else '0'


def method_rows(records, labels):
    """``[((label, files, [mean cell]), (label (worst), files, [worst cell]))]``
    per method of ``labels`` in ``records``, the cells in ``TABLE_METRICS``'
    order; a mean or worst over k of the n of the method's files that the
    metric applies to (``APPLIES_TO``), where 0 < k < n, reads ``"value (k/n)"``."""
    pairs = []
    for label in labels:
        mine = [r for r in records if r['method'] == label]
        if not mine:
            continue
        (_, files, means, worsts), = summarise(mine, [label])
        counts, applies = covered(mine), applicable(mine)
        pairs.append(tuple((name, files, [mean_cell(values[k], counts[k], applies[k], k)
                                          for k in TABLE_METRICS])
                           for name, values in ((label, means),
                                                (label + ' (worst)', worsts))))
    return pairs


def mean_cell(value, count, files, metric):
    """``value`` (a mean or a worst) as a table cell, with ``(count/files)``
    after it where it covers some of the ``files`` the metric applies to
    but not all."""
    return partial_cell(format_value(value, DIGITS.get(metric, 2)), count, files)


def partial_cell(text, count, files):
    """A cell's ``text`` with ``(count/files)`` after it where its value is
    over ``count`` of the ``files`` the metric applies to, 0 < count < files
    (scripts/model_tables.py marks its cells the same way)."""
    return '{} ({}/{})'.format(text, count, files) if 0 < count < files else text


def format_value(value, digits):
    return '-' if value is None or math.isnan(value) else '{:.{}f}'.format(value, digits)


def write_csv(path, records):
    """Every record as a row of CSV_COLUMNS, written atomically."""
    util.write_table(path, CSV_COLUMNS, records)


def check_csv(path, overwrite):
    """Refuse an existing --csv without --overwrite; make its folder and
    remove the temporary files killed runs left there."""
    if path is None:
        return
    if os.path.isdir(path):
        raise cli.UserError('--csv {}: is a folder; give a file name'.format(path))
    cli.prepare_output(path, overwrite, '--csv ')
    cli.remove_stale_temporaries([path])


def check_csv_is_no_input(path, args, items):
    """Refuse a --csv that is one of the run's inputs: a mixture (``items``
    holds every one found, those left out too), a reference, a manifest.csv,
    an estimate or a model."""
    if path is None or not os.path.exists(path):
        return
    root = args.mix if os.path.isdir(args.mix) else os.path.dirname(args.mix) or '.'
    roots = [root] + ([args.ref] if args.ref else [])
    inputs = [p for item in items for p in (item.mixture_path, item.speech_path,
                                            item.music_path) if p]
    inputs += [os.path.join(root, os.path.dirname(item.name), const.MANIFEST)
               for root in roots for item in items]
    inputs += [p for folder in args.est or []
               for p in util.find_audio(folder, const.READ_EXTENSIONS)]
    inputs += args.model or []
    for candidate in inputs:
        if os.path.exists(candidate) and os.path.samefile(candidate, path):
            raise cli.UserError('--csv {}: is an input of this run ({}); choose another '
                                'file'.format(path, candidate))


def evaluate_main(args):
    if not (args.model or args.est or args.oracle):
        args.model = [const.MODEL_FILE]
    make_separate.check_patching(args)
    check_csv(args.csv, args.overwrite)
    items, left_out = plan_run(args)
    check_csv_is_no_input(args.csv, args, items + left_out)
    methods = build_methods(args)
    check_estimates(methods, items)
    labels = [m.label for m in methods]
    with_snr = sum(item.snr_db is not None for item in items)
    cli.print_settings([
        ('mixtures', '{} ({} file{}{})'.format(
            args.mix, len(items), cli.plural(len(items)),
            '; ' + left_out_text(len(left_out)) if left_out else '')),
        ('references', args.ref or 'NAME{}.wav (NAME{}.wav) beside each mixture'.format(
            SPEECH_TAG, MUSIC_TAG)),
        ('methods', ', '.join('{} ({})'.format(m.label, m.describe()) for m in methods)),
        ('input SNR', '{} of {} files in manifest.csv'.format(with_snr, len(items))
         if with_snr else 'unknown (no manifest.csv with snr_db)'),
        ('metrics', 'SI-SDR only (--quick)' if args.quick else 'SI-SDR, SDR, PESQ, STOI'),
        ('csv', args.csv or '-')])

    records, failures, noted = [], [], 0
    for item in tqdm(items, desc='evaluating', unit='file', disable=None):
        try:
            found = evaluate_item(item, methods, args.quick)
        except cli.USER_ERRORS as err:
            tqdm.write('error: {}'.format(err), file=sys.stderr)
            failures.append(str(err))
            continue
        finally:
            item.release()
        for record in found:
            if record['notes']:
                noted += 1
                tqdm.write('note: {} [{}]: {}'.format(record['name'], record['method'],
                                                      record['notes']), file=sys.stderr)
        records.extend(found)

    done = len(items) - len(failures)
    if records:
        print(format_table(records, labels, args.by) + '\n')
        if args.csv:
            write_csv(args.csv, records)
    seconds = sum(r['seconds'] for r in records) / max(1, len(labels))
    print('evaluated {} of {} file{} ({:.1f} s of audio) with {} method{}{}{}{}'.format(
        done, len(items), cli.plural(len(items)), seconds, len(labels), cli.plural(len(labels)),
        '; ' + left_out_text(len(left_out)) if left_out else '',
        '; {} score{} with a note (above)'.format(noted, cli.plural(noted))
        if noted else '', '; wrote ' + args.csv if args.csv and records else ''))
    status = cli.print_failures(failures)
    if not records:
        raise cli.UserError('no file could be evaluated; see the errors above')
    return status


if __name__ == '__main__':
    sys.exit(main())
