"""Train the U-Net on the npz magnitudes written by make_dataset.py, or on
mixtures drawn afresh from speech and music waveforms (``--mix``).

Chainer's Trainer writes to ``result/``: ``model_N`` (the U-Net at iteration
N, loadable by make_separate.py), ``snapshot_iter_N`` (the whole trainer, for
``-r``), ``model_best`` (lowest validation loss), ``log``, ``loss.png`` and
``args.json``. Validation holds out whole npz files (``--val``) or uses a
folder of its own (``--val-dir``).

Chainer writes each snapshot and model in a temporary folder in ``result/``
(``tmpsnapshot_iter_N...``, ``tmpmodel_N...``) and moves it into place; a
run that is killed can leave one behind. The next run removes them, but only
when no other train.py holds ``result/.train.lock`` and only those untouched
for ``STALE_SECONDS`` before it began (Chainer's names carry no process id).

Usage: python3 train.py [-g GPU] [-b BATCH] [-e EPOCHS] [-r SNAPSHOT] [--init MODEL]
       python3 train.py --mix [-s SPEECH_DIR] [-m MUSIC_DIR] --val-dir NPZ_DIR ...
       mpiexec -n N python3 train.py --communicator naive ...   (docs/SCALING.md)
"""
import interrupts  # first: Ctrl-C while the rest loads is one line, not a traceback
if __name__ == '__main__':
    interrupts.quiet_while_loading()

import argparse
import contextlib
import errno
import fcntl
import hashlib
import io
import json
import math
import os
import re
import shutil
import signal
import sys
import threading
import time
import zipfile
import zlib

import compat  # noqa: F401  (before chainer: NumPy 2 / Python 3.12 shims)
import chainer
import numpy as np
from chainer import training
from chainer.iterators import multiprocess_iterator
from chainer.training import extensions

import cli
import const
import make_separate
import mixing
import network
import util

PROG = 'train.py'
# ChainerMN communicators: naive works on CPUs, the others need GPUs.
COMMUNICATORS = ('naive', 'flat', 'non_cuda_aware', 'pure_nccl')
# npz arrays the masked mixture can be fitted to (--target).
TARGETS = ('vocal', 'vocal_psa')
PSA_HINT = '; make it with make_dataset.py --psa'
# Held (flock) by the train.py writing to a result folder, for the whole run.
LOCK_FILE = '.train.lock'
RUN_OUTPUT = re.compile(r'^(model_\d+|model_best|snapshot_iter_\d+)$')   # what -o gets
# Chainer's temporary folders: 'tmp' + file name + tempfile's 8 random characters.
CHAINER_TEMPORARY = re.compile(r'^tmp(snapshot_iter_\d+|model_(\d+|best))[a-z0-9_]{8}$')
# A temporary folder untouched this long (s) before the run began is stale.
STALE_SECONDS = 60


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description='U-Net speech separation trainer')
    parser.add_argument('--stft', '-t', default=const.PATH_FFT,
                        help='folder of npz magnitudes (default: %(default)s)')
    parser.add_argument('--batchsize', '-b', type=int, default=const.BATCH_SIZE,
                        help='patches per mini-batch (default: %(default)s)')
    parser.add_argument('--patchlength', '-l', type=int, default=const.PATCH_LENGTH,
                        help='frames per patch, a multiple of {} (default: %(default)s)'.format(
                            const.PATCH_MULTIPLE))
    parser.add_argument('--epoch', '-e', type=int, default=const.EPOCHS,
                        help='sweeps over the training set, or with --mix epochs of '
                             '--epoch-size patches (default: %(default)s)')
    parser.add_argument('--stop', type=int, default=0, metavar='ITER',
                        help='stop at this iteration instead of after -e epochs '
                             '(counted from the start of the run that -r resumes; '
                             'default: 0, off)')
    parser.add_argument('--stop-seconds', type=float, default=0.0, metavar='S',
                        help='also stop once training has run S seconds (counted like '
                             '--stop, over -r resumes; 0: off), saving the last model; '
                             'with --lr-end the rate falls by time or iterations, '
                             'whichever is further on, so it ends at --lr-end either way '
                             '(by time: the step begun after S seconds is the last, at '
                             '--lr-end; one process only)')
    parser.add_argument('--frequency', '-f', type=int, default=1,
                        help='snapshot every this many epochs; -1 only at the end '
                             '(default: %(default)s)')
    parser.add_argument('--gpu', '-g', type=int, default=-1,
                        help='GPU id; negative for the CPU (default: %(default)s)')
    parser.add_argument('--out', '-o', default=const.PATH_RESULT,
                        help='output folder (default: %(default)s)')
    parser.add_argument('--resume', '-r', default='',
                        help='resume from a snapshot_iter_N file')
    parser.add_argument('--init', default='',
                        help='start from this model ("none": random weights); without '
                             'it ./{} is used if present'.format(const.MODEL_FILE))
    parser.add_argument('--val', type=float, default=None,
                        help='share of npz files held out for validation, chosen '
                             'by name (default: {:g}; 0 with --val-dir, which is then '
                             'the validation set)'.format(const.VAL_FRACTION))
    parser.add_argument('--val-dir', default='',
                        help='folder of validation npz files (instead of --val)')
    parser.add_argument('--lr', type=float, default=const.LEARNING_RATE,
                        help='Adam learning rate (default: %(default)s)')
    parser.add_argument('--lr-end', type=float, default=None, metavar='LR',
                        help='fall linearly from --lr to this learning rate over the '
                             'run (default: constant --lr)')
    parser.add_argument('--dropout', type=float, default=const.DROPOUT, metavar='RATIO',
                        help='dropout ratio on the first three decoder layers, in '
                             '[0, 1) (default: %(default)s, as upstream)')
    parser.add_argument('--input-power', type=float, default=None, metavar='P',
                        help='raise the magnitudes the network sees to the power P (above 0, '
                             'at most 1; 1: linear, as upstream; below 1 compresses them, '
                             'so quiet harmonics weigh more); saved in the model files '
                             '(default: the --init model\'s, 1 for a new network)')
    parser.add_argument('--feed', default=const.FEEDS[0], choices=const.FEEDS,
                        help='what the network sees of each mixture patch: drawn, the '
                             'magnitudes as drawn (as upstream), or separation, each patch '
                             'first equalised and levelled as make_separate.py feeds it '
                             '(--equalise boost, --level patch), so that training sees what '
                             'separation shows; the mask still multiplies the mixture as '
                             'drawn (default: %(default)s)')
    parser.add_argument('--target', default='vocal', choices=TARGETS,
                        help='npz array the masked mixture is fitted to: vocal, the '
                             'speech magnitude (as upstream), or vocal_psa, its '
                             'phase-sensitive part (make_dataset.py --psa), which '
                             'favours the waveform heard with the mixture\'s phase '
                             '(default: %(default)s)')
    parser.add_argument('--loss', default=const.LOSSES[0], choices=const.LOSSES,
                        help='what training minimises: l1, the mean absolute error of the '
                             'masked magnitude (as upstream), or snr, the thresholded '
                             'signal-to-noise ratio of the estimate\'s waveform heard with '
                             'the mixture\'s phase (needs --mix; signal_loss.py), or snr+sisdr, '
                             'that averaged with the estimate\'s scale-invariant SDR, which '
                             'scores its shape at any level (from random weights, the snr loss '
                             'alone learnt to go silent on loud music). The log\'s '
                             'loss columns are the L1 either way (default: %(default)s)')
    parser.add_argument('--snr-cap', type=float, default=None, metavar='DB',
                        help='with --loss snr or snr+sisdr only: the SNR at which an '
                             'example counts as done (speech alone passed this clean, music '
                             'alone turned down this far); lower leaves more of the effort to '
                             'the hard mixtures '
                             '(default: {:g})'.format(const.SNR_LOSS_CAP_DB))
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed; runs on the CPU repeat exactly (default: %(default)s)')
    parser.add_argument('--communicator', default='', choices=COMMUNICATORS, metavar='NAME',
                        help='data-parallel training over the processes of '
                             '`mpiexec -n N` (ChainerMN): naive on CPUs, pure_nccl on '
                             'GPUs; -b is then per process (see docs/SCALING.md)')
    mix = parser.add_argument_group(
        'mixing on the fly (--mix)',
        'instead of -t, draw every example afresh from speech and music waveforms: '
        'random crops, speeds, levels, speech or music alone (mixing.py)')
    mix.add_argument('--mix', action='store_true',
                     help='train on examples mixed on the fly from -s and -m')
    mix.add_argument('--speech', '-s', default=const.PATH_SPEECH,
                     help='speech folder for --mix (default: %(default)s)')
    mix.add_argument('--music', '-m', default=const.PATH_MUSIC,
                     help='music folder for --mix (default: %(default)s)')
    mix.add_argument('--epoch-size', type=int, default=const.MIX_EPOCH_SIZE, metavar='N',
                     help='patches per epoch with --mix (default: %(default)s)')
    mix.add_argument('--snr', type=float, nargs=2, default=const.MIX_SNR_DB,
                     metavar=('LOW', 'HIGH'),
                     help='speech-to-music power ratio range, dB (default: {:g} to '
                          '{:g})'.format(*const.MIX_SNR_DB))
    mix.add_argument('--speed', type=float, nargs=2, default=const.MIX_SPEED,
                     metavar=('LOW', 'HIGH'),
                     help='speech speed factor range (default: {:g} to {:g})'.format(
                         *const.MIX_SPEED))
    mix.add_argument('--alone', type=float, nargs=2,
                     default=(const.MIX_SPEECH_ALONE, const.MIX_MUSIC_ALONE),
                     metavar=('SPEECH', 'MUSIC'),
                     help='shares of examples with speech alone and music alone '
                          '(default: {:g} and {:g})'.format(const.MIX_SPEECH_ALONE,
                                                           const.MIX_MUSIC_ALONE))
    mix.add_argument('--two-music', type=float, default=const.MIX_TWO_MUSIC, metavar='SHARE',
                     help='share of examples with two music crops (default: %(default)s)')
    mix.add_argument('--short-music', choices=const.MIX_SHORT_MUSIC,
                     default=const.MIX_SHORT_MUSIC[0],
                     help='music shorter than a patch (a loop) is repeated to fill it, '
                          'or placed in silence as before 2026-11-26 (default: %(default)s)')
    mix.add_argument('--music-speed', type=float, nargs=2, default=const.MIX_MUSIC_SPEED,
                     metavar=('LOW', 'HIGH'),
                     help='music speed factor range, tempo and pitch (default: {:g} to '
                          '{:g}, unchanged)'.format(*const.MIX_MUSIC_SPEED))
    mix.add_argument('--noise-music', type=float, default=const.MIX_NOISE_MUSIC,
                     metavar='SHARE',
                     help='share of music crops with a synthetic loop of noise bursts '
                          '(shaker, brush) added, so that such percussion is heard as '
                          'music (noise_loops.py; default: %(default)s)')
    mix.add_argument('--colour', type=float, default=const.MIX_COLOUR, metavar='SHARE',
                     help='share of speech crops, and apart of music crops, passed through '
                          'a random equaliser (tilt, bell-shaped bands, sometimes a '
                          'telephone-like band limit), so that the model separates voices '
                          'and music recorded other ways (colouring.py; default: %(default)s)')
    mix.add_argument('--colour-mix', type=float, default=const.MIX_COLOUR_MIX, metavar='SHARE',
                     help='share of examples whose speech and music both pass through one '
                          'random equaliser, as a whole mixture heard through a channel '
                          '(after --colour; default: %(default)s)')
    mix.add_argument('--reverb', type=float, default=const.MIX_REVERB, metavar='SHARE',
                     help='share of speech crops heard in a random synthetic room (RT60 '
                          '{:g} to {:g} s), the target with its reverberation, so that the '
                          'model separates voices recorded away from the microphone '
                          '(reverb.py; default: %(default)s)'.format(*const.REVERB_RT60_S))
    mix.add_argument('--balance-music', action='store_true',
                     help='draw every music source (the file name up to "__") equally '
                          'often instead of in proportion to its length')
    mix.add_argument('--balance-speech', action='store_true',
                     help='draw every speech track equally often instead of in proportion '
                          'to its length (many short tracks of different speakers then '
                          'outweigh a few long ones)')
    mix.add_argument('--loaders', type=int, default=const.MIX_LOADERS, metavar='N',
                     help='worker processes that draw examples; 0 draws them in the '
                          'training process (default: %(default)s)')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), train, argv)


# --------------------------------------------------------------------------
# Data

def npz_files(folder, option='-t'):
    """npz files in ``folder`` (given as ``option``) and its subfolders, as
    upstream's loader found them, sorted by path; hidden files are left out."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise cli.UserError('{} {}: is a file; give the folder of npz files'.format(
            option, folder))
    if not os.path.isdir(folder):
        raise cli.UserError('{} folder {} does not exist; run make_dataset.py '
                            'first or give {} DIR'.format(
                                'stft' if option == '-t' else option, folder, option))
    paths = util.find_audio(folder, ('.npz',))
    if not paths:
        audio = util.find_audio(folder, const.READ_EXTENSIONS)
        raise cli.UserError('{} {}: no npz files{}; run make_dataset.py first'.format(
            option, folder, ' (it holds audio: {} takes the npz files make_dataset.py '
            'writes with -t)'.format(option) if audio else ''))
    return paths


def split_by_name(paths, fraction):
    """``(train, val)``: the ``round(fraction * n)`` files whose names hash
    lowest are held out (at least one where ``fraction`` > 0 and there are
    two files or more, and never all).

    The choice depends only on the names, so it is the same on every
    machine and for every run over the same files (a resumed run included).
    Files added to the folder can take an earlier file's place on the
    validation side, which then trains: a longer run over a grown folder
    should start afresh or validate on a --val-dir.
    """
    if fraction <= 0 or len(paths) < 2:
        return list(paths), []
    n_val = min(len(paths) - 1, max(1, int(round(fraction * len(paths)))))
    ranked = sorted(paths, key=lambda p: hashlib.md5(
        os.path.basename(p).encode('utf-8', 'surrogateescape')).hexdigest())
    held = set(ranked[:n_val])
    return [p for p in paths if p not in held], [p for p in paths if p in held]


def load_items(paths, target='vocal'):
    """``[(mix, speech)]``, each ``(512, frames)`` float32 (DC bin dropped).

    ``speech`` is the npz array named ``target``: ``vocal`` (the magnitude)
    or ``vocal_psa`` (the phase-sensitive target, make_dataset.py --psa).
    Files without ``mix``/``target``, of another shape or of no frames,
    with negative values (a log spectrogram) or unreadable are skipped with a warning
    naming them; complex arrays (an STFT saved whole) give their magnitudes,
    with a warning.
    """
    items = []
    for path in paths:
        try:
            mix, speech = npz_arrays(path, target)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            reason = 'not an npz file' if 'pickled data' in str(err) else \
                'damaged ({})'.format(err) if isinstance(err, zlib.error) else \
                'damaged (an array header cannot be read)' if 'parse header' in str(err) \
                else err
            print('warning: skipped {}: {}'.format(path, reason), file=sys.stderr)
            continue
        kinds = {mix.dtype.kind, speech.dtype.kind}
        if not kinds <= set('iufc'):
            print('warning: skipped {}: mix and {} must hold numbers, not {} and {}'.format(
                path, target, mix.dtype, speech.dtype), file=sys.stderr)
            continue
        if mix.shape != speech.shape or mix.ndim != 2 or mix.shape[0] != const.N_BINS:
            print('warning: skipped {}: mix {} and {} {} must both be ({}, frames)'.format(
                path, mix.shape, target, speech.shape, const.N_BINS), file=sys.stderr)
            continue
        if 'c' in kinds:
            print('warning: {}: holds complex values (an STFT, not its magnitude); '
                  'magnitudes are used'.format(path), file=sys.stderr)
            mix, speech = magnitudes_of(mix, speech, target)
        if not (np.all(np.isfinite(mix)) and np.all(np.isfinite(speech))):
            print('warning: skipped {}: holds NaN or Inf'.format(path), file=sys.stderr)
            continue
        if mix.shape[1] == 0:
            print('warning: skipped {}: holds no frames'.format(path), file=sys.stderr)
            continue
        negative = [name for name, array in (('mix', mix), (target, speech))
                    if np.min(array) < 0]
        if negative:
            print('warning: skipped {}: {} holds negative values, where magnitudes are '
                  'never below 0 (a log or dB spectrogram?)'.format(path, negative[0]),
                  file=sys.stderr)
            continue
        peak = max(float(np.max(np.abs(mix), initial=0.0)),
                   float(np.max(np.abs(speech), initial=0.0)))
        if peak > const.MAX_NPZ_MAGNITUDE:
            print('warning: skipped {}: magnitudes reach {:.3g}, where make_dataset.py '
                  'divides them by the mixture\'s peak (a damaged file?)'.format(path, peak),
                  file=sys.stderr)
            continue
        items.append((np.ascontiguousarray(mix[1:], np.float32),
                      np.ascontiguousarray(speech[1:], np.float32)))
    return items


def npz_arrays(path, target):
    """``(mix, speech)`` arrays of the npz at ``path``, ``speech`` named
    ``target``; ``ValueError`` for a file that is not an npz of both (a
    ``.npy`` array so named included), and NumPy's and zlib's errors for a
    damaged one."""
    with contextlib.ExitStack() as stack:
        data = np.load(path)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError('a single .npy array, not an npz file of "mix" and "{}"'.format(
                target))
        stack.enter_context(data)
        if 'mix' not in data.files or target not in data.files:
            raise ValueError('has no "mix"/"{}" arrays (keys: {}){}'.format(
                target, ', '.join(data.files), PSA_HINT if target == 'vocal_psa' else ''))
        return data['mix'], data[target]


def magnitudes_of(mix, speech, target):
    """``(mix, speech)`` of an npz that holds complex STFTs: their magnitudes,
    or for ``vocal_psa`` with both complex the phase-sensitive target that
    make_dataset.py --psa stores (``util.phase_sensitive_magnitude``)."""
    if target == 'vocal_psa' and np.iscomplexobj(mix) and np.iscomplexobj(speech):
        return np.abs(mix), util.phase_sensitive_magnitude(speech, mix)
    return np.abs(mix), np.abs(speech)


def crop(item, start, length):
    """``(mix, speech)`` patches ``(1, 512, length)`` from ``start``, zero-padded."""
    out = np.zeros((2, 1, const.NET_BINS, length), np.float32)
    for k in range(2):
        piece = item[k][:, start:start + length]
        out[k, 0, :, :piece.shape[1]] = piece
    return out[0], out[1]


class RandomPatchDataset(chainer.dataset.DatasetMixin):
    """Random ``length``-frame crops, as the seed's TM_DatsSet.

    One epoch is as many patches as the items hold frames (at least one
    batch); example ``i`` is a crop of item ``i mod len(items)`` at a random
    offset. Items shorter than a patch are zero-padded.
    """

    def __init__(self, items, length, batchsize):
        self.items = items
        self.length = length
        total = sum(item[0].shape[1] for item in items)
        self._len = max(1, total // length // batchsize) * batchsize

    def __len__(self):
        return self._len

    def get_example(self, i):
        item = self.items[i % len(self.items)]
        room = item[0].shape[1] - self.length
        start = np.random.randint(room + 1) if room > 0 else 0
        return crop(item, start, self.length)


class FixedPatchDataset(chainer.dataset.DatasetMixin):
    """Every item cut into consecutive patches: a fixed validation set."""

    def __init__(self, items, length):
        self.items = items
        self.length = length
        self.index = [(k, start) for k, item in enumerate(items)
                      for start in range(0, max(1, item[0].shape[1]), length)]

    def __len__(self):
        return len(self.index)

    def get_example(self, i):
        k, start = self.index[i]
        return crop(self.items[k], start, self.length)


def load_datasets(args):
    """``(train, val, description)`` datasets of patches."""
    if args.mix:
        train, described = mixing_dataset(args)
        val_items = load_items(npz_files(args.val_dir, '--val-dir'), args.target) \
            if args.val_dir else []
        check_validation(args, val_items)
        val = FixedPatchDataset(val_items, args.patchlength) if val_items else None
        return train, val, '{}; validation {} file{}, {} patches'.format(
            described, len(val_items), cli.plural(len(val_items)), len(val) if val else 0)
    paths = npz_files(args.stft)
    if args.val_dir:
        val_paths = npz_files(args.val_dir, '--val-dir')
        held = {os.path.realpath(path) for path in val_paths}
        train_paths = [path for path in paths if os.path.realpath(path) not in held]
        if paths and not train_paths:
            raise cli.UserError('-t {}: every npz file in it is a --val-dir file too; give '
                                '-t and --val-dir folders of their own'.format(args.stft))
        if len(train_paths) < len(paths):      # --val-dir inside -t, read with its subfolders
            left = len(paths) - len(train_paths)
            print('note: the {} file{} of --val-dir {} inside -t {} {} not trained '
                  'on'.format(left, cli.plural(left), args.val_dir, args.stft,
                              'is' if left == 1 else 'are'), file=sys.stderr)
    else:
        train_paths, val_paths = split_by_name(paths, args.val)
    train_items = load_items(train_paths, args.target)
    val_items = load_items(val_paths, args.target)
    check_validation(args, val_items)
    if not args.val_dir and args.val > 0 and not val_items:
        print('note: no validation ({}), so no model_best; give --val-dir a folder of '
              'npz files to validate on'.format(
                  'the held-out files are unusable, see above' if val_paths else
                  'one npz file in -t, none held out'), file=sys.stderr)
    if not train_items:
        raise cli.UserError('no usable training npz in {} (see the warnings above)'.format(
            args.stft))
    if all(item[0].shape[1] < args.patchlength for item in train_items):
        print('warning: every item is shorter than the {}-frame patch; patches are '
              'zero-padded'.format(args.patchlength), file=sys.stderr)
    train = RandomPatchDataset(train_items, args.patchlength, args.batchsize)
    val = FixedPatchDataset(val_items, args.patchlength) if val_items else None
    description = '{} file{}, {} patches/epoch; validation {} file{}, {} patches'.format(
        len(train_items), cli.plural(len(train_items)), len(train),
        len(val_items), cli.plural(len(val_items)), len(val) if val else 0)
    return train, val, description


def check_validation(args, val_items):
    """One line where --val-dir was given and none of its files could be used
    (each was named in a warning): a run would go on without validation
    and without ``model_best``."""
    if args.val_dir and not val_items:
        raise cli.UserError('--val-dir {}: no usable npz for --target {} (see the warnings '
                            'above)'.format(args.val_dir, args.target))


def mixing_dataset(args, stream=0):
    """``(MixingDataset, description)`` over the waveforms of -s and -m;
    ``stream`` (the ChainerMN rank) selects the random stream."""
    tracks, paths = mix_tracks(args.speech, args.music, warn=stream == 0)
    settings = mixing.MixSettings(
        snr_db=tuple(args.snr), speed=tuple(args.speed), speech_alone=args.alone[0],
        music_alone=args.alone[1], two_music=args.two_music, short_music=args.short_music,
        music_speed=tuple(args.music_speed), balance_music=args.balance_music,
        balance_speech=args.balance_speech, noise_music=args.noise_music,
        colour=args.colour, colour_mix=args.colour_mix, reverb=args.reverb)
    epoch_size = max(1, args.epoch_size // args.batchsize) * args.batchsize
    sources = [mixing.source_name(path) for path in paths['music']]
    dataset = mixing.MixingDataset(tracks['speech'], tracks['music'], args.patchlength,
                                   epoch_size, seed=args.seed, stream=stream,
                                   target=args.target, settings=settings,
                                   music_sources=sources,
                                   spectra=args.loss in const.WAVEFORM_LOSSES)
    return dataset, ('mixed on the fly from {} speech track{} ({}) and {} music '
                     'track{} ({}{}){}{}{}{}{}, {} patches/epoch'.format(
                         len(tracks['speech']), cli.plural(len(tracks['speech'])),
                         duration(dataset.speech.seconds),
                         len(tracks['music']), cli.plural(len(tracks['music'])),
                         duration(dataset.music.seconds),
                         ', {} source{} drawn equally often'.format(
                             len(set(sources)), cli.plural(len(set(sources))))
                         if args.balance_music else '',
                         ', every speech track drawn equally often' if args.balance_speech
                         else '',
                         ', noise percussion added to {:.0%} of the music'.format(
                             args.noise_music) if args.noise_music else '',
                         ', {:.0%} of the speech and of the music coloured'.format(
                             args.colour) if args.colour else '',
                         ', {:.0%} of the mixtures coloured whole'.format(
                             args.colour_mix) if args.colour_mix else '',
                         ', {:.0%} of the speech in a room'.format(args.reverb)
                         if args.reverb else '', epoch_size))


def duration(seconds):
    """``seconds`` for a settings line: '42.5 s' under a minute, else '3.2 min'."""
    return '{:.1f} s'.format(seconds) if seconds < 60 else '{:.1f} min'.format(seconds / 60)


def mixing_args(options, speech_folder, music_folder, seed, epoch_size=None):
    """The parsed arguments of ``train.py --mix`` with the train.py
    ``options`` (a list of arguments), the two folders and ``seed``
    (``epoch_size`` patches an epoch, or the default), for ``mixing_dataset``;
    one ``cli.UserError`` line for an option train.py refuses or a setting
    out of range."""
    argv = ['--mix'] + list(options) + ['-s', speech_folder, '-m', music_folder,
                                        '--seed', str(seed)]
    if epoch_size is not None:
        argv += ['--epoch-size', str(epoch_size)]
    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):
            args = build_parser().parse_args(argv)
    except SystemExit:
        raise cli.UserError(complaint.getvalue().strip().splitlines()[-1].split('error: ', 1)[-1])
    check_numbers(args)
    check_mixing(args)
    return args


def mix_tracks(speech_folder, music_folder, prefix='--mix: ', warn=True):
    """``(tracks, paths)``, each ``{'speech': [...], 'music': [...]}``: the
    waveforms of the two folders (``mixing.load_tracks``; ``warn``: name the
    files skipped) and their files; ``cli.UserError`` (its message starting
    with ``prefix``) for a missing folder, a file given as one, a file in
    both (``-m music_speech`` holds ``speech_wav``), or a folder without
    usable audio."""
    found = {}
    for kind, folder in (('speech', speech_folder), ('music', music_folder)):
        if os.path.isfile(folder):
            raise cli.UserError('{}{} folder {} is a file; give the folder that holds '
                                'it'.format(prefix, kind, folder))
        if not os.path.isdir(folder):
            raise cli.UserError('{}{} folder {} does not exist'.format(prefix, kind, folder))
        found[kind] = util.find_audio(folder, const.READ_EXTENSIONS)
    cli.check_apart(found['speech'], found['music'], speech_folder, music_folder, prefix)
    tracks, paths = {}, {}
    for kind, folder in (('speech', speech_folder), ('music', music_folder)):
        tracks[kind], paths[kind] = mixing.load_tracks(found[kind], kind, warn)
        if not tracks[kind]:
            raise cli.UserError('{}no usable {} audio in {}'.format(prefix, kind, folder))
    return tracks, paths


# The options of --mix alone (their argparse dests), and those of the npz route
MIX_ONLY = ('speech', 'music', 'epoch_size', 'snr', 'speed', 'alone', 'two_music',
            'short_music', 'music_speed', 'noise_music', 'colour', 'colour_mix', 'reverb',
            'balance_music', 'balance_speech', 'loaders')
NPZ_ONLY = ('stft', 'val')


def check_mode_options(args):
    """One line for an option given (other than its default) that this run's
    route does not use: a --mix option without --mix, or -t / --val with it
    (its validation is --val-dir), so that no option given is ignored."""
    defaults = vars(build_parser().parse_args([]))
    unused = NPZ_ONLY if args.mix else MIX_ONLY
    for dest in unused:
        given, default = getattr(args, dest), defaults[dest]
        if isinstance(given, (list, tuple)):
            given, default = list(given), list(default)
        if given != default:
            option = '--' + dest.replace('_', '-') if dest != 'stft' else '-t'
            raise cli.UserError(
                '{}: {}'.format(option, 'does not apply to --mix, which draws its examples '
                                'from -s and -m (validation: --val-dir)' if args.mix else
                                'applies to --mix only (this run trains on the npz files '
                                'of -t)'))
    if args.val_dir and not args.mix and args.val:
        raise cli.UserError('--val {:g}: does not apply with --val-dir, whose files are '
                            'the validation set (--val 0 holds nothing out of -t)'.format(
                                args.val))


def check_mixing(args):
    """One line for each --mix setting out of range (NaN included)."""
    cli.check_interval('--snr', args.snr, *const.MIX_SNR_LIMITS)
    cli.check_interval('--speed', args.speed, *const.SPEED_LIMITS)
    cli.check_interval('--music-speed', args.music_speed, *const.SPEED_LIMITS)
    shares = [('--alone', args.alone[0]), ('--alone', args.alone[1]),
              ('--two-music', args.two_music), ('--noise-music', args.noise_music),
              ('--colour', args.colour), ('--colour-mix', args.colour_mix),
              ('--reverb', args.reverb)]
    for option, share in shares:
        cli.check_range(option, share, 0.0, 1.0)
    if sum(args.alone) > 1.0:
        raise cli.UserError('--alone {} {}: the two shares add up to more than 1'.format(
            *args.alone))
    cli.check_range('--epoch-size', args.epoch_size, 1, const.MAX_EPOCH_SIZE)
    cli.check_range('--loaders', args.loaders, 0, const.MAX_LOADERS)


# --------------------------------------------------------------------------
# Data-parallel training (ChainerMN over MPI; only with --communicator)

def create_communicator(args):
    """The ChainerMN communicator for ``--communicator``, or None without it.

    mpi4py and chainermn are imported only here. With ``-g >= 0`` each
    process takes the GPU of its rank on its machine (``comm.intra_rank``).
    An uncaught exception on one process aborts them all rather than leave
    the others waiting for it.
    """
    if not args.communicator:
        return None
    if args.communicator != 'naive' and args.gpu < 0:
        raise cli.UserError('--communicator {}: needs GPUs (-g 0); use --communicator '
                            'naive on CPUs'.format(args.communicator))
    try:
        import mpi4py.MPI  # noqa: F401  (starts MPI)
    except (ImportError, RuntimeError) as err:
        raise cli.UserError('--communicator {}: mpi4py or its MPI library is missing ({}); '
                            'run `make mpi`'.format(args.communicator, err)) from None
    import chainermn
    chainermn.global_except_hook.add_hook()
    try:
        comm = chainermn.create_communicator(args.communicator)
    except (ImportError, RuntimeError, ValueError) as err:   # no CuPy/NCCL for pure_nccl...
        raise cli.UserError('--communicator {}: cannot start ({})'.format(
            args.communicator, str(err).strip().splitlines()[0][:160])) from None
    if args.gpu >= 0:
        args.gpu = comm.intra_rank
    return comm


def is_root(comm):
    """True in the process that prints and writes: rank 0, or the only one."""
    return comm is None or comm.rank == 0


def scatter_datasets(args, comm):
    """``load_datasets`` on rank 0, then each rank's share of both splits.

    Every rank gets ``ceil(len / size)`` examples of each split (a few
    repeated if it does not divide), so the ranks stay in step. A mistake
    found while loading on rank 0 is raised on every rank.
    """
    import chainermn
    train, val, outcome = None, None, None
    if comm.rank == 0:
        try:
            train, val, described = load_datasets(args)
            outcome = (None, val is not None, described)
        except cli.USER_ERRORS as err:
            outcome = (str(err), False, '')
    failure, has_val, described = comm.bcast_obj(outcome)
    if failure:
        raise cli.UserError(failure)
    if args.mix:    # every rank draws its own examples: stream = rank
        train = train if comm.rank == 0 else mixing_dataset(args, comm.rank)[0]
    else:
        train = chainermn.scatter_dataset(train, comm)
    val = chainermn.scatter_dataset(val, comm) if has_val else None
    share = ('drawing its own {} training patches an epoch' if args.mix else
             'with {} training patches').format(len(train))
    return train, val, '{}; {} processes, each {}{}'.format(
        described, comm.size, share,
        ' and {} validation patches'.format(len(val)) if val is not None else '')


# --------------------------------------------------------------------------
# Model and trainer

def initial_model(args):
    """``(unet, how)``: a fresh U-Net or one loaded from --init / ./unet.model."""
    unet = network.UNet()
    if args.resume:
        return unet, 'snapshot {}'.format(args.resume)
    if args.init == 'none':
        return unet, 'random initialisation (--init none)'
    source = args.init or (const.MODEL_FILE if os.path.exists(const.MODEL_FILE) else '')
    if not source:
        return unet, 'random initialisation'
    return network.load_unet(source), 'model {}'.format(source)


class MeanOverRanks(training.Extension):
    """Replace an observation (``main/loss``) by its mean over the processes,
    so the log and plot show the loss of the whole step, not rank 0's share.

    (ChainerMN's ObservationAggregator needs ChainerX, absent here.)
    """
    trigger = (1, 'iteration')
    priority = training.PRIORITY_EDITOR

    def __init__(self, comm, key):
        self.comm = comm
        self.key = key

    def __call__(self, trainer):
        value = trainer.observation[self.key]
        local = float(chainer.backends.cuda.to_cpu(getattr(value, 'array', value)))
        trainer.observation[self.key] = self.comm.allreduce_obj(local) / self.comm.size


class StopOnNonFinite(training.Extension):
    """Stop with a message when the loss or a weight is NaN or Inf.

    Runs before the snapshot writers, so the snapshots on disk are all of
    finite models.
    """
    trigger = (1, 'iteration')
    priority = training.PRIORITY_WRITER + 1

    def __call__(self, trainer):
        loss = trainer.observation.get('main/loss')
        loss_ok = loss is None or bool(np.isfinite(chainer.backends.cuda.to_cpu(
            getattr(loss, 'array', loss))))
        model = trainer.updater.get_optimizer('main').target
        weights_ok = all(bool(model.xp.isfinite(p.array).all()) for p in model.params())
        if not (loss_ok and weights_ok):
            snapshots = [name for name in os.listdir(trainer.out)
                         if name.startswith('snapshot_iter_')]
            raise cli.UserError(
                'the loss became NaN or Inf at iteration {}; stopped. {} with a lower '
                '--lr'.format(trainer.updater.iteration,
                              'Resume from the last snapshot in {}'.format(trainer.out)
                              if snapshots else 'No snapshot was written yet: start again'))


class RunProgress:
    """How far a run is, 0 to 1: its share of ``iterations``, or of
    ``seconds`` of training (``trainer.elapsed_time``) where that is further
    on (train.py --stop-seconds).

    By time, an iteration counts as far as the time read at the one before:
    the step begun once ``seconds`` have passed is the last, so that
    ``FallingRate``, which sets each step's rate after the step before
    (``last=1``: the time read now), knows it is the last and gives it the
    end rate."""

    def __init__(self, iterations, seconds=0.0):
        self.iterations = iterations
        self.seconds = seconds
        self._clock = {}    # {iteration: elapsed_time read at it}, this one and the one before

    def __call__(self, trainer, last=0):
        """The share; ``last`` iterations short of ``iterations`` count as done
        (by time: the time read ``last`` iterations later, up to now)."""
        iteration = trainer.updater.iteration
        share = iteration / max(1, self.iterations - last)
        if self.seconds:
            share = max(share, self.elapsed(trainer, iteration - 1 + last) / self.seconds)
        return min(1.0, share)

    def elapsed(self, trainer, iteration):
        """Seconds of training read at ``iteration``, this one or the one
        before (this one's at the run's first). Read once an iteration, so
        that the extensions' triggers and the stop trigger agree on whether
        this iteration is the last."""
        now = trainer.updater.iteration
        if now not in self._clock:
            self._clock = {k: t for k, t in self._clock.items() if k == now - 1}
            self._clock[now] = trainer.elapsed_time
        return self._clock.get(iteration, self._clock[now])


class ProgressStop:
    """Stop trigger: the run is done when its ``RunProgress`` reaches 1."""

    def __init__(self, progress):
        self.progress = progress

    def __call__(self, trainer):
        return self.progress(trainer) >= 1.0

    def get_training_length(self):
        """For the progress bar: the iterations, which time may cut short."""
        return self.progress.iterations, 'iteration'


class EpochOrEnd:
    """Trigger: at the end of each epoch, and at the run's last iteration
    (its ``RunProgress`` at 1), so that a run stopped within an epoch still
    logs, validates, plots and keeps its best model."""

    def __init__(self, progress=None):
        self.progress = progress      # None: epochs only (a run of -e epochs)
        self.epoch = training.triggers.IntervalTrigger(1, 'epoch')
        self.ended = False

    def __call__(self, trainer):
        new_epoch = self.epoch(trainer)     # called every time: it keeps its own count
        if self.progress is None or self.ended or self.progress(trainer) < 1.0:
            return new_epoch
        self.ended = True
        return True

    def serialize(self, serializer):
        """As the epoch trigger alone, so that snapshots of runs before this
        trigger resume, and theirs resume here."""
        self.epoch.serialize(serializer)


class FallingRate(training.Extension):
    """Adam's rate from ``start`` to ``end`` in proportion to a
    ``RunProgress``; like LinearShift, iteration k uses the value set after
    k - 1, so the last iteration, of the count or of the time, uses ``end``."""
    trigger = (1, 'iteration')

    def __init__(self, optimizer, start, end, progress):
        self.optimizer, self.start, self.end, self.progress = optimizer, start, end, progress

    def initialize(self, trainer):
        self(trainer)

    def __call__(self, trainer):
        share = self.progress(trainer, last=1)
        self.optimizer.alpha = self.start + (self.end - self.start) * share


def build_trainer(args, unet, train, val, comm=None):
    """Iterator -> optimizer -> updater -> trainer -> extensions.

    With a ChainerMN ``comm`` the gradients are averaged over the processes
    before each Adam step (the first step copies rank 0's weights to all),
    as are the validation losses, the logged training loss and the batch
    normalisation statistics; only rank 0 gets the extensions that print
    or write.
    """
    device = chainer.get_device(args.gpu)
    model = network.UNetTrainmodel(unet, snr_cap_db=args.snr_cap,
                                   scale_invariant=args.loss == 'snr+sisdr',
                                   feed=network_feed(args.feed)).to_device(device)
    optimizer = chainer.optimizers.Adam(alpha=args.lr)
    if comm is not None:
        import chainermn
        optimizer = chainermn.create_multi_node_optimizer(optimizer, comm)
    optimizer.setup(model)

    train_iter = training_iterator(args, train)
    updater = training.StandardUpdater(train_iter, optimizer, device=device)
    stop = (args.stop, 'iteration') if args.stop else (args.epoch, 'epoch')
    progress = RunProgress(run_iterations(args, train), args.stop_seconds)
    trainer = training.Trainer(updater, ProgressStop(progress) if args.stop_seconds else stop,
                               out=args.out)

    def epoch():
        """Each epoch, and the run's last iteration (--stop or --stop-seconds
        within an epoch): a trigger of its own for each extension."""
        return EpochOrEnd(progress if args.stop or args.stop_seconds else None)
    snapshot_at = stop if args.frequency == -1 else (max(1, args.frequency), 'epoch')
    trainer.extend(StopOnNonFinite())
    if args.lr_end is not None:
        # Computed from the iteration (and time): -r continues it, also from
        # snapshots of runs that used Chainer's LinearShift for the same ramp.
        trainer.extend(FallingRate(optimizer, args.lr, args.lr_end, progress))
    trainer.extend(extensions.observe_value('lr', lambda _: optimizer.alpha),
                   trigger=epoch())
    if comm is not None:
        # Averaging the running means every iteration costs a few small
        # all-reduces and keeps whatever rank 0 writes equal on every rank.
        trainer.extend(chainermn.extensions.AllreducePersistent(model, comm),
                       trigger=(1, 'iteration'))
        trainer.extend(MeanOverRanks(comm, 'main/loss'))
    if val is not None:
        val_iter = chainer.iterators.SerialIterator(val, args.batchsize,
                                                    repeat=False, shuffle=False)
        evaluator = extensions.Evaluator(val_iter, model, device=device)
        if comm is not None:
            evaluator = chainermn.create_multi_node_evaluator(evaluator, comm)
        trainer.extend(evaluator, trigger=epoch())
    if not is_root(comm):
        return trainer
    if val is not None:
        trainer.extend(extensions.snapshot_object(unet, 'model_best',
                                                  savefun=save_uncompressed),
                       trigger=training.triggers.MinValueTrigger(
                           'validation/main/loss', epoch()))
    # model_N before the trainer's snapshot (the same priority runs in this
    # order), so that the snapshot holds model_N's trigger as it stands after
    # this iteration: a resumed run wrote a model_N mid-epoch from a stale one.
    trainer.extend(extensions.snapshot_object(unet, 'model_{.updater.iteration}',
                                              savefun=save_uncompressed),
                   trigger=snapshot_at)
    trainer.extend(extensions.snapshot(savefun=save_uncompressed), trigger=snapshot_at)
    trainer.extend(extensions.LogReport(trigger=epoch()))
    losses = ['main/loss'] + (['validation/main/loss'] if val is not None else [])
    if extensions.PlotReport.available():
        # called every iteration, so that its epoch's training loss is the
        # mean of all its batches as in the log, not the last batch's
        trainer.extend(extensions.PlotReport(losses, 'epoch', trigger=epoch(),
                                             file_name='loss.png'))
    terminal = sys.stdout.isatty()    # a redirected log gets the epoch lines only
    snr = ['main/snr'] if args.loss in const.WAVEFORM_LOSSES else []
    trainer.extend(extensions.PrintReport(['epoch', 'iteration'] + losses + snr +
                                          ['lr', 'elapsed_time'],
                                          out=sys.stdout if terminal else PlainLines()))
    if terminal:
        trainer.extend(extensions.ProgressBar(update_interval=1))
    return trainer


def save_uncompressed(path, target):
    """``chainer.serializers.save_npz`` without zlib, which load_npz reads
    as well. zlib shrinks a model from 25.2 to 23.3 MB and a snapshot (with
    Adam's moments) from 75.5 to 56.7 MB, and compressing a model, a
    snapshot and ``model_best`` took about 5 s an epoch on a 2-core CPU
    (``benchmarks/train_speed.py --saving``): a tenth of a 512-step epoch at
    the H200's 11 steps a second."""
    with interrupts.held_stops():    # a stop mid-write had left numpy's zip file unclosed
        chainer.serializers.save_npz(path, target, compression=False)


class PlainLines:
    """PrintReport's stream off a terminal: its lines on ``sys.stdout``
    without the escape code that clears a progress bar."""

    def write(self, text):
        if text != '\033[J':
            sys.stdout.write(text)

    def flush(self):
        sys.stdout.flush()


def obey_only_the_parent():
    """In a worker process whose SIGTERM is blocked: end at once on a SIGTERM
    from the training process (the pool's ``terminate``, or Python's exit
    ending daemon workers), keep ignoring it from anyone else.

    Without this, a pool terminated while its workers lived (a second
    Ctrl-C during the clean-up) waited for ever on workers that could not
    be stopped. Linux only (``sigwaitinfo``); elsewhere nothing changes."""
    if not hasattr(signal, 'sigwaitinfo'):
        return
    parent = os.getppid()

    def wait():
        while True:
            if signal.sigwaitinfo({signal.SIGTERM}).si_pid == parent:
                os._exit(cli.EXIT_TERMINATED)

    threading.Thread(target=wait, name='obey_only_the_parent', daemon=True).start()


class QuietWorkersIterator(chainer.iterators.MultiprocessIterator):
    """A MultiprocessIterator whose worker processes never see SIGINT and SIGTERM.

    Ctrl-C or ``timeout`` signal the whole process group; a worker stopped
    while it holds the pool's queue lock would hang the pool's shutdown for
    ever. So the two signals are blocked while the pool forks its workers
    (at the first batch), which keep them blocked; the training process
    gets any that arrived then as soon as the fork is over, stops, and shuts
    the pool down as at the end of a run. A SIGTERM that the training
    process itself sends a worker still ends it (``obey_only_the_parent``).
    """

    def __next__(self):
        loop = self._prefetch_loop
        if loop is not None and loop.thread is None and 'launch_thread' not in vars(loop):
            launch = loop.launch_thread

            def launch_blocked():
                quiet = {signal.SIGINT, signal.SIGTERM}
                previous = signal.pthread_sigmask(signal.SIG_BLOCK, quiet)
                setup = multiprocess_iterator._fetch_setup

                def worker_setup(*args):
                    obey_only_the_parent()
                    setup(*args)
                # Chainer's pool takes its worker initializer from this global
                multiprocess_iterator._fetch_setup = worker_setup
                try:
                    return launch()
                finally:
                    multiprocess_iterator._fetch_setup = setup
                    signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            loop.launch_thread = launch_blocked
        return super().__next__()

    next = __next__      # the updater calls next(), an alias of the parent's

    def serialize(self, serializer):
        """Load a snapshot as Chainer does; write one without Chainer's reset
        of the prefetch, which threw away the batches the workers had drawn
        ahead (they drew them again after every snapshot), and also after
        the workers are gone (the last snapshot of a run that --stop ends
        between epochs)."""
        writing = isinstance(serializer, chainer.serializer.Serializer)
        if not self._finalized and not writing:
            return super().serialize(serializer)
        for key, value in (('current_position', self.current_position),
                           ('epoch', self.epoch), ('is_new_epoch', self.is_new_epoch),
                           ('order', self._state.order.copy()),
                           ('previous_epoch_detail', self._previous_epoch_detail)):
            serializer(key, value)


def training_iterator(args, train):
    """Batches of ``train``: shuffled patches of the npz items, or with --mix
    a new stretch of the example stream every epoch, drawn by ``--loaders``
    worker processes if asked."""
    if not args.mix:
        return chainer.iterators.SerialIterator(train, args.batchsize)
    order = mixing.EpochOffsetOrder()
    if args.loaders == 0:
        return chainer.iterators.SerialIterator(train, args.batchsize, order_sampler=order)
    # Workers hand examples over in shared memory sized per example; one too
    # small is pickled instead, with a warning from every worker. Examples
    # depend on their index only, so the first one measures them all.
    example_bytes = sum(array.nbytes for array in train[0])
    return QuietWorkersIterator(
        train, args.batchsize, n_processes=args.loaders, order_sampler=order,
        shared_mem=2 * example_bytes)


def run_iterations(args, train):
    """Iterations in the run: --stop, else -e epochs of this process's ``train``
    (a batch that ends an epoch carries on into the next, so ``-e`` epochs of
    a ``train`` that ``-b`` does not divide, a ChainerMN rank's share, take
    ``ceil(e * len / b)``)."""
    if args.stop:
        return args.stop
    return max(1, math.ceil(args.epoch * len(train) / args.batchsize))


def resume(trainer, path, whole=True, mix=False):
    """Load a trainer snapshot, or say in one line why it cannot be.

    ``whole``: the trainer has every extension of the run (one process, or
    rank 0 under MPI), so that validation on in one and off in the other is
    refused first: Chainer refuses the one way after warnings and takes the
    other without a word, dropping the best model's state. Other
    extensions may change (``-f``: Chainer then warns that their triggers
    guess). ``mix``: the run mixes on the fly, where validation is
    ``--val-dir`` alone.
    """
    if not os.path.isfile(path):
        raise cli.UserError('-r {}: snapshot not found'.format(path))
    if whole:     # before Chainer's load, which warns about what it then refuses
        validated = [snapshot_validates(path), trainer_validates(trainer)]
        if validated[0] is not None and validated[0] != validated[1]:
            if mix:
                same = 'without --val-dir' if validated[1] else '--val-dir'
            else:
                same = ('--val 0 (a snapshot of upstream\'s train.py, which held nothing '
                        'out, too)' if validated[1] else 'validation on (--val, --val-dir)')
            raise cli.UserError(
                '-r {}: the snapshot\'s run had validation {} and this one has it {}; resume '
                'with {}, or start from its weights with --init {}'.format(
                    path, *['on' if v else 'off' for v in validated], same, path))
    try:
        chainer.serializers.load_npz(path, trainer)
    except KeyError as err:
        missing = str(err)
        if 'extension_triggers' in missing or 'extensions/' in missing:
            raise cli.UserError(
                '-r {}: a snapshot of a run with other extensions (validation on or off: '
                '--val, --val-dir; --lr-end; --communicator), missing {}; resume with the '
                'same ones, or start from its weights with --init {}'.format(
                    path, missing, path)) from None
        raise cli.UserError('-r {}: not a snapshot of this trainer (missing {})'.format(
            path, err)) from None
    except ValueError as err:
        if 'broadcast' in str(err):
            raise cli.UserError(
                '-r {}: its training iterator was made for another number of patches '
                'an epoch (-b, --epoch-size, the npz files, --val, the number of MPI '
                'processes); resume with the same '
                'ones, or start from its weights with --init {}'.format(path, path)) from None
        raise cli.UserError('-r {}: snapshot of another model or settings ({})'.format(
            path, str(err).splitlines()[0][:120])) from None
    except Exception as err:  # a damaged zip raises several unrelated types
        raise cli.UserError('-r {}: unreadable snapshot ({})'.format(
            path, type(err).__name__)) from None


def snapshot_validates(path):
    """Whether the run that wrote snapshot ``path`` kept a best model (the
    state of its ``model_best`` trigger); None for a file that is not a
    trainer's npz, a model's say (its load then says what is wrong)."""
    try:
        with np.load(path) as data:
            names = data.files
    except Exception:  # noqa: BLE001  (a damaged zip raises several types)
        return None
    if not any(name.startswith('extension_triggers/') for name in names):
        return None
    return any(name.endswith('/best_value') for name in names)


def not_a_snapshot(path):
    """Why ``path``, which ``snapshot_validates`` does not take for a
    trainer's snapshot, cannot be resumed: a model file, another npz, or
    not an npz at all."""
    try:
        with np.load(path) as data:
            names = data.files
    except Exception:  # noqa: BLE001  (a damaged zip raises several types)
        return 'not a trainer snapshot (not an npz file, or a damaged one)'
    if any(name.endswith('conv1/W') for name in names):
        return ('a model, not a trainer snapshot (snapshot_iter_N); start from its weights '
                'with --init {}'.format(path))
    return 'an npz file that is not a trainer snapshot (snapshot_iter_N)'


def trainer_validates(trainer):
    """Whether ``trainer`` keeps a best model (``build_trainer``'s
    ``model_best``, on validation)."""
    return any(isinstance(entry.trigger, training.triggers.BestValueTrigger)
               for entry in trainer._extensions.values())


def save_args(args, how):
    """``args.json`` beside the models: how they were made."""
    record = dict(vars(args), start=how, chainer=chainer.__version__)
    with util.replacing(os.path.join(args.out, 'args.json')) as tmp:
        with open(tmp, 'w') as handle:
            json.dump(record, handle, indent=2, sort_keys=True)


def check_numbers(args):
    """One line for each setting that is out of range or not a number."""
    if not 0 < args.patchlength <= const.MAX_PATCH_LENGTH or \
            args.patchlength % const.PATCH_MULTIPLE:
        raise cli.UserError('-l {}: the patch length must be a multiple of {} (six stride-2 '
                            'layers) from {} to {}'.format(
                                args.patchlength, const.PATCH_MULTIPLE, const.PATCH_MULTIPLE,
                                const.MAX_PATCH_LENGTH))
    if not 0 < args.batchsize <= const.MAX_BATCH_SIZE:
        raise cli.UserError('-b {}: the batch size must be from 1 to {}'.format(
            args.batchsize, const.MAX_BATCH_SIZE))
    if args.frequency != -1 and args.frequency < 1:
        raise cli.UserError('-f {}: snapshot every N epochs (1 or more), or -1 only at the '
                            'end'.format(args.frequency))
    if args.epoch < 1 or args.stop < 0:
        raise cli.UserError('-e {} --stop {}: train at least one epoch, and --stop is an '
                            'iteration count (0: off)'.format(args.epoch, args.stop))
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise cli.UserError('--lr {}: the learning rate must be a positive number'.format(
            args.lr))
    if args.lr_end is not None and not (math.isfinite(args.lr_end) and args.lr_end >= 0):
        raise cli.UserError('--lr-end {}: must be a number, 0 or more'.format(args.lr_end))
    if args.val is not None:
        cli.check_range('--val', args.val, 0.0, 1.0)
    if not 0.0 <= args.dropout < 1.0:     # NaN fails too
        raise cli.UserError('--dropout {}: the ratio must be from 0 to below 1'.format(
            args.dropout))
    cli.check_range('--seed', args.seed, 0, 2 ** 31 - 1)    # + rank: within NumPy's 2**32
    if args.input_power is not None and not 0.0 < args.input_power <= 1.0:   # NaN fails too
        raise cli.UserError('--input-power {}: must be above 0 and at most 1 (1: linear '
                            'magnitudes)'.format(args.input_power))
    if args.input_power is not None and args.resume:
        raise cli.UserError('--input-power {:g} with -r: a resumed run keeps its snapshot\'s '
                            'input power (give it with --init to start a run)'.format(
                                args.input_power))
    if args.snr_cap is None:      # not given: the default, so that one given is never ignored
        args.snr_cap = const.SNR_LOSS_CAP_DB
    elif args.loss not in const.WAVEFORM_LOSSES:
        raise cli.UserError('--snr-cap {:g}: applies to --loss snr or snr+sisdr only (this '
                            'run\'s loss is {})'.format(args.snr_cap, args.loss))
    cli.check_range('--snr-cap', args.snr_cap, *const.SNR_LOSS_CAP_LIMITS)
    if not (args.stop_seconds >= 0 and math.isfinite(args.stop_seconds)):
        raise cli.UserError('--stop-seconds {}: must be a number of seconds, 0 or '
                            'more'.format(args.stop_seconds))
    if args.stop_seconds and args.communicator:
        raise cli.UserError('--stop-seconds: one process only (under --communicator the '
                            'processes would disagree on when time is up)')
    if args.loss in const.WAVEFORM_LOSSES and not args.mix:
        raise cli.UserError('--loss {}: needs --mix (the npz files of -t hold magnitudes, '
                            'not the phase the waveform needs)'.format(args.loss))


def check_output(folder):
    """``-o`` must be a writable folder, or one that can be made."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise cli.UserError('-o {}: exists and is not a folder; name a folder'.format(folder))
    parent = os.path.abspath(folder)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise cli.UserError('-o {}: cannot be made, {} is a file'.format(folder, parent))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise cli.UserError('-o {}: {} is not writable'.format(folder, parent))


def claim_output(folder, started):
    """Make ``folder``, lock it for this run and remove Chainer's stale
    temporary folders from it; returns the open lock file (keep it open).
    A folder another live train.py holds is refused in one line, as two runs
    would write the same ``model_N`` and ``log``.

    Chainer's names carry no process id, so a temporary folder is removed
    only when no other train.py holds the lock (a live writer would) and
    when neither it nor a file in it changed in the ``STALE_SECONDS``
    before ``started`` (time.time(), s); a train.py of an older version, which
    takes no lock, writes its snapshot in well under that.
    """
    with util.writing(folder):
        os.makedirs(folder, exist_ok=True)
        lock = open(os.path.join(folder, LOCK_FILE), 'a')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno not in (errno.EWOULDBLOCK, errno.EACCES):
            raise
        lock.close()
        raise cli.UserError('-o {}: another train.py is training into it (it holds {}); '
                            'give another -o, or wait for that run to end'.format(
                                folder, os.path.join(folder, LOCK_FILE))) from None
    stale = [name for name, newest in chainer_temporaries(folder)
             if newest < started - STALE_SECONDS]
    for name in stale:
        shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
    if stale:
        print('warning: removed {} stale temporary folder{} of a killed run from {}: '
              '{}'.format(len(stale), cli.plural(len(stale)), folder,
                          ', '.join(stale)), file=sys.stderr)
    return lock


def chainer_temporaries(folder):
    """Chainer's temporary folders in ``folder``: (name, the newest time.time()
    at which it or a file in it changed), sorted by name."""
    found = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not CHAINER_TEMPORARY.match(name) or not os.path.isdir(path):
            continue
        times = [os.path.getmtime(path)] + [
            os.path.getmtime(os.path.join(root, f)) for root, _, files in os.walk(path)
            for f in files]
        found.append((name, max(times)))
    return found


def drop_own_temporaries(folder, started):
    """Remove the temporary folders this run left in ``folder`` (it holds the
    lock, so those changed since ``started``, time.time() in s, are its own):
    a stop (SIGTERM, Ctrl-C, an error) that lands while Chainer writes a
    snapshot or model can leave one behind."""
    for name, newest in chainer_temporaries(folder):
        if newest >= started:
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


def train(args):
    started = time.time()
    # under mpiexec every process checks the same options and inputs alike
    with cli.reported_by_rank_zero(make_separate.mpi_world()[0]):
        check_numbers(args)
        check_launch(args)
        cli.check_cupy(args.gpu)                        # under mpiexec -g becomes each rank's
        if args.mix:
            check_mixing(args)
        check_mode_options(args)
        args.val = held_out_share(args)
        check_starting_files(args)                      # before --mix loads its audio
        if args.val_dir:
            npz_files(args.val_dir, '--val-dir')
        check_output(args.out)
        check_init_kept(args)
        comm = create_communicator(args)
    with end_others_on_stop(comm):
        return train_on(args, comm, started)


def check_starting_files(args):
    """One line for a -r snapshot or --init model that is not there, found
    before any data is loaded (and, under mpiexec, said once)."""
    if args.resume and not os.path.isfile(args.resume):
        raise cli.UserError('-r {}: snapshot not found'.format(args.resume))
    if args.resume and snapshot_validates(args.resume) is None:
        raise cli.UserError('-r {}: {}'.format(args.resume, not_a_snapshot(args.resume)))
    if args.init and args.init != 'none' and not args.resume and not os.path.isfile(args.init):
        raise cli.UserError('--init {}: no such model file (--init none starts from random '
                            'weights)'.format(args.init))


def held_out_share(args):
    """``--val`` as given, else the share of -t held out by default: none
    with --val-dir or --mix (validation is --val-dir's), else
    ``const.VAL_FRACTION``."""
    if args.val is not None:
        return args.val
    return 0.0 if args.val_dir or args.mix else const.VAL_FRACTION


def may_validate(args):
    """Whether the run can hold validation files, and so write ``model_best``:
    a --val-dir, or a --val share of -t's npz files."""
    if args.val_dir:
        return True
    if args.mix or args.val <= 0:
        return False
    try:
        return bool(split_by_name(npz_files(args.stft), args.val)[1])
    except cli.UserError:         # no -t folder: said when the data loads
        return True


def check_launch(args):
    """One line where mpiexec started several processes without
    --communicator: each would train alone into the same -o."""
    size = make_separate.mpi_world()[1]
    if size > 1 and not args.communicator:
        raise cli.UserError('mpiexec started {} processes but --communicator was not '
                            'given, so each would train alone; add --communicator naive '
                            '(CPU) or pure_nccl (GPUs)'.format(size))


def check_init_kept(args):
    """One line where the ``--init`` model is a file this run would write
    over: ``model_N``, ``model_best`` (where it validates) or
    ``snapshot_iter_N`` in ``-o`` (the continuation of a run into its own
    folder)."""
    if not args.init or args.init == 'none' or not os.path.isfile(args.init):
        return
    name = os.path.basename(os.path.realpath(args.init))
    folder = os.path.dirname(os.path.realpath(args.init))
    if name == 'model_best' and not may_validate(args):
        return
    if folder == os.path.realpath(args.out) and RUN_OUTPUT.match(name):
        raise cli.UserError('--init {}: this run writes {} into -o {} and would replace it; '
                            'copy it out of the folder or give another -o'.format(
                                args.init, name, args.out))


def network_feed(feed):
    """The ``UNetTrainmodel`` feed of ``--feed``: None for 'drawn', for
    'separation' the patches equalised and levelled as separation does."""
    if feed == 'drawn':
        return None
    return make_separate.fed_as_separation_feeds(lambda patches: patches)


def train_on(args, comm, started):
    """The run of ``train``, once the communicator (or None) is made;
    ``started``: time.time() when the run began, in s."""
    np.random.seed(args.seed + (comm.rank if comm else 0))   # each rank crops its own
    with abort_others_on_error(comm, (cli.UserError,)):    # a rank's own GPU can be missing
        cli.get_device(args.gpu)  # one line if CuPy or the GPU is missing; made current
    with cli.reported_by_rank_zero(comm.rank if comm else 0):    # alike on every rank
        train_set, val_set, described = (load_datasets(args) if comm is None
                                         else scatter_datasets(args, comm))
        unet, how = initial_model(args)
    unet.dropout = args.dropout
    if args.input_power is not None:
        unet.input_power = args.input_power
    settings = [
        ('GPU', args.gpu), ('Minibatch-size', args.batchsize),
        ('patch-length', args.patchlength),
        ('learning rate', args.lr if args.lr_end is None else
         '{} falling to {}'.format(args.lr, args.lr_end)),
        ('dropout', args.dropout),
        ('feed', 'each patch equalised and levelled as separation feeds it'
         if args.feed == 'separation' else 'the patches as drawn'),
        ('input', 'as in the snapshot' if args.resume else 'magnitudes' if
         unet.input_power == 1 else 'magnitudes to the power {:g}'.format(unet.input_power)),
        ('loss', args.loss if args.loss not in const.WAVEFORM_LOSSES else
         '{}, capped at {} dB'.format(args.loss, args.snr_cap)),
        ('stop', ('{} iterations'.format(args.stop) if args.stop else
                  '{} epochs'.format(args.epoch)) +
         (' or {:g} s, whichever first'.format(args.stop_seconds) if args.stop_seconds else '')),
        ('data', described), ('start', how), ('result directory', args.out)]
    if comm is not None:
        settings.append(('communicator', '{} over {} processes; {} patches per step'.format(
            args.communicator, comm.size, args.batchsize * comm.size)))
    if is_root(comm):
        cli.print_settings(settings)
    chainer.global_config.autotune = True
    trainer = build_trainer(args, unet, train_set, val_set, comm)
    lock = None         # held by rank 0 once claimed
    try:
        # rank 0 alone holds some extensions and the lock: what it refuses
        # there must stop the others, which would wait for it in training
        with abort_others_on_error(comm, (util.OutputError, cli.UserError)):
            if args.resume:
                resume_run(args, trainer, comm)
            if is_root(comm):
                lock = claim_output(args.out, started)
        with abort_others_on_error(comm):
            return run_trainer(args, trainer, unet, how, comm)
    finally:
        if lock is not None:
            drop_own_temporaries(args.out, started)
            lock.close()


def resume_run(args, trainer, comm):
    """Load ``args.resume`` into ``trainer`` (one line if it cannot be) and
    reseed NumPy's generator for the rest of the run."""
    resume(trainer, args.resume, whole=is_root(comm), mix=args.mix)
    if args.stop and trainer.updater.iteration >= args.stop:
        raise cli.UserError('-r {}: the snapshot is at iteration {}, already at --stop {}; '
                            'give a larger --stop'.format(
                                args.resume, trainer.updater.iteration, args.stop))
    if not args.stop and trainer.updater.epoch >= args.epoch:
        raise cli.UserError('-r {}: the snapshot has trained {} epoch{}, already at -e {}; '
                            'give a larger -e'.format(
                                args.resume, trainer.updater.epoch,
                                cli.plural(trainer.updater.epoch), args.epoch))
    # the snapshot's seconds of training (Chainer 7's Trainer keeps them there
    # until it runs; its elapsed_time is not defined before)
    trained = trainer._snapshot_elapsed_time
    if args.stop_seconds and trained >= args.stop_seconds:
        raise cli.UserError('-r {}: the snapshot has trained {:.0f} s, already at '
                            '--stop-seconds {:g}; give a larger --stop-seconds'.format(
                                args.resume, trained, args.stop_seconds))
    if is_root(comm):      # the rows before the snapshot are in its log already
        trainer.get_extension('PrintReport')._log_len = len(
            trainer.get_extension('LogReport').log)
    if args.init and is_root(comm):
        print('warning: --init {} is not used: -r {} resumes the snapshot\'s own '
              'weights'.format(args.init, args.resume), file=sys.stderr)
    # npz crops and dropout draw from NumPy's global generator, which a
    # snapshot does not hold: seeded by the iteration too, a resumed run
    # crops afresh rather than replaying the crops of its first steps
    np.random.seed([args.seed + (comm.rank if comm else 0), trainer.updater.iteration])


@contextlib.contextmanager
def abort_others_on_error(comm, errors=(util.OutputError,)):
    """Under mpiexec, an error of ``errors`` found on one process alone (a
    write that fails on rank 0, a snapshot only rank 0 can tell apart)
    stops every process after the one line, instead of leaving the others
    waiting for it."""
    try:
        yield
    except errors as err:
        if comm is None or comm.size == 1:
            raise
        print('{}: error: {}'.format(PROG, err), file=sys.stderr)
        abort_run(comm, cli.EXIT_ERROR)


@contextlib.contextmanager
def end_others_on_stop(comm):
    """Under mpiexec, a process stopped by SIGTERM or Ctrl-C ends the whole
    run once its own clean-up is done: the others may wait for it in a
    gradient exchange, inside MPI's C code, where no signal handler runs (a
    SIGTERM to mpiexec reached both ranks, and one waited for ever). Rank 0
    ends it at once; another rank first gives rank 0, if it was stopped
    too, ``const.STOP_GRACE_S`` to clean up and end it. From the
    communicator's start: a rank can wait in the datasets' scatter too."""
    try:
        yield
    except (cli.Terminated, KeyboardInterrupt) as err:
        if comm is None or comm.size == 1:
            raise
        line, status = cli.stop_outcome(PROG, err)
        print(line, file=sys.stderr)
        if comm.rank != 0:
            time.sleep(const.STOP_GRACE_S)
        abort_run(comm, status)


def abort_run(comm, status):
    """End every process of the run with ``status``, once mpiexec has had
    ``const.ABORT_FLUSH_S`` to pass on what this one wrote to stderr."""
    sys.stderr.flush()
    time.sleep(const.ABORT_FLUSH_S)
    comm.mpi_comm.Abort(status)


def output_states(folder):
    """``{name: (inode, mtime in ns, size)}`` of the models and snapshots in
    ``folder`` (``RUN_OUTPUT``), to tell afterwards which a run wrote:
    Chainer writes each to a temporary file renamed into place, so one it
    wrote is a new inode, whatever the clocks say."""
    states = {}
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        if RUN_OUTPUT.match(name):
            try:
                states[name] = file_state(os.path.join(folder, name))
            except OSError:
                continue
    return states


def file_state(path):
    status = os.stat(path)
    return status.st_ino, status.st_mtime_ns, status.st_size


def written_since(path, states):
    """Whether the file ``path`` exists and is not as ``states``
    (``output_states`` of its folder before the run) had it."""
    try:
        return file_state(path) != states.get(os.path.basename(path))
    except OSError:
        return False


def run_trainer(args, trainer, unet, how, comm):
    """Train, then make sure the last iteration is saved; a write that
    fails (read-only folder, full disk) ends in one line."""
    before = output_states(args.out) if is_root(comm) else {}
    with util.writing(args.out):
        if is_root(comm):
            save_args(args, how)
        trainer.run(show_loop_exception_msg=args.debug)   # else the error is one line
    if not is_root(comm):
        return 0
    final = os.path.join(args.out, 'model_{}'.format(trainer.updater.iteration))
    snapshot = os.path.join(args.out, 'snapshot_iter_{}'.format(trainer.updater.iteration))
    if not (written_since(final, before) and written_since(snapshot, before)):
        # --stop ended the run between epoch triggers (its files, if any,
        # are an earlier run's into this folder): keep it resumable.
        with util.writing(args.out):
            extensions.snapshot(savefun=save_uncompressed)(trainer)
            extensions.snapshot_object(unet, 'model_{.updater.iteration}',
                                       savefun=save_uncompressed)(trainer)
    print('done: {} iterations; models in {} (latest {})'.format(
        trainer.updater.iteration, args.out, final))
    return 0


if __name__ == '__main__':
    sys.exit(main())
