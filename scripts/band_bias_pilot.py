"""Pilot: a per-frequency correction of the network's mask, fitted on the
training side ("A twenty-sixth session" of docs/MODEL.md).

The U-Net is convolutional along frequency: the same weights slide over
every bin, so it knows where in the band it is only through its edges. A
voice and a music bed differ most by band (bass, cymbals), so the pilot
asks whether a correction per bin, ``mask' = sigmoid(a_k logit(mask) +
b_k)``, fitted where the model trained, adds what the network cannot say.

``fit``: draws mixtures from the training side (a random speech crop, a
random music crop, an SNR from -5 to +10 dB, one separation as
``--shifts 1 --speeds 1`` runs it), and fits ``a_k, b_k`` per bin
(``--per band``), one pair for all bins (``--per all``) or ``b_k`` alone
(``--per bias``), by least squares on the complex error of the masked
mixture, each mixture weighted by its speech energy (as SDR weighs it).
Writes an npz with ``a`` and ``b``, ``(512,)`` each.

``evaluate``: evaluate.py with every network mask so corrected
(``CORRECTION=npz``).

Usage:
    python3 scripts/band_bias_pilot.py fit -m unet.model -o corr.npz [--items 240] [--per band]
    CORRECTION=corr.npz python3 scripts/band_bias_pilot.py evaluate -i build/val_eval \
        -m unet.model --quick --shifts 1 --speeds 1 --csv out.csv
"""
import argparse
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cli  # noqa: E402
import const  # noqa: E402
import evaluate  # noqa: E402
import make_separate  # noqa: E402
import network  # noqa: E402
import util  # noqa: E402

EVALUATE_PROG = 'band_bias_pilot.py evaluate'
EVALUATE_EPILOG = ('Environment: CORRECTION, the npz file of a and b (512,) that '
                   '"band_bias_pilot.py fit" wrote (required); every network mask is '
                   'corrected with it. The options are evaluate.py\'s.')
CROP_SECONDS = 6.0
SNR_RANGE_DB = (-5.0, 10.0)
LOGIT_CLIP = 1e-4


def logit(mask):
    m = np.clip(mask, LOGIT_CLIP, 1.0 - LOGIT_CLIP)
    return np.log(m / (1.0 - m))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def corrected(mask_fn, a, b):
    """``mask_fn`` with each bin's logit mapped by ``a * logit + b``."""
    a = a.astype(np.float32)[None, None, :, None]
    b = b.astype(np.float32)[None, None, :, None]

    def fn(patches):
        return sigmoid(a * logit(np.asarray(mask_fn(patches))) + b).astype(np.float32)
    return fn


def crop(signal, n, rng):
    """``n`` samples of ``signal`` from a random start, repeated if short."""
    if len(signal) < n:
        signal = np.tile(signal, n // max(1, len(signal)) + 1)
    start = rng.integers(0, len(signal) - n + 1)
    return signal[start:start + n]


def draw_mixture(speech_files, music_files, rng):
    """``(mixture, speech)`` at 16 kHz: crops at an SNR drawn from SNR_RANGE_DB."""
    n = int(CROP_SECONDS * const.SR)
    speech = crop(util.load_audio(speech_files[rng.integers(len(speech_files))]), n, rng)
    music = crop(util.load_audio(music_files[rng.integers(len(music_files))]), n, rng)
    snr = rng.uniform(*SNR_RANGE_DB)
    ps, pm = np.mean(speech ** 2), np.mean(music ** 2)
    if ps <= 0 or pm <= 0:
        return None
    music = music * np.sqrt(ps / pm / 10.0 ** (snr / 10.0))
    peak = np.max(np.abs(speech + music))
    gain = 10.0 ** (-rng.uniform(0, 12) / 20.0) / peak
    return ((speech + music) * gain).astype(np.float32), (speech * gain).astype(np.float32)


def cells(mask_fn, mixture, speech):
    """Per-cell ``(logit of the mask, phase-sensitive target, weight)`` for
    bins 1..512, each ``(512, frames)``."""
    x = util.stft(mixture)
    s = util.stft(speech)
    scale = make_separate.normalisation(float(np.abs(x).max()))
    masker = util.PatchMasker(mask_fn)
    masks = np.concatenate([masker.push(np.abs(x) * scale), masker.finish()], axis=1)
    power = np.abs(x) ** 2
    target = np.real(s * np.conj(x)) / np.maximum(power, 1e-20)
    weight = power / max(float(np.sum(np.abs(s) ** 2)), 1e-20)
    return logit(masks[1:]), target[1:], weight[1:]


def fit_affine(l, p, w, per, rounds=30, ridge=0.05):
    """Gauss-Newton fit of ``a, b`` (each ``(512,)``) minimising
    ``sum w (sigmoid(a l + b) - p)^2`` per bin (``per='band'``), shared by
    all bins (``'all'``), or ``b`` alone per bin with ``a = 1`` (``'bias'``),
    each bin's pair held towards ``(1, 0)`` by ``ridge`` times the mean
    curvature of its fit (so a bin with little weight stays near the plain
    mask). ``l, p, w``: ``(512, cells)``."""
    bins = l.shape[0]
    a, b = np.ones(bins), np.zeros(bins)
    for _ in range(rounds):
        y = sigmoid(a[:, None] * l + b[:, None])
        r = y - p
        d = y * (1 - y)
        ja, jb = d * l, d
        axis = None if per == 'all' else 1
        gaa, gab, gbb = (np.sum(w * ja * ja, axis=axis), np.sum(w * ja * jb, axis=axis),
                         np.sum(w * jb * jb, axis=axis))
        ra, rb = np.sum(w * ja * r, axis=axis), np.sum(w * jb * r, axis=axis)
        hold = ridge * np.mean(gaa + gbb)
        gaa, gbb = gaa + hold, gbb + hold
        ra, rb = ra + hold * (a - 1.0), rb + hold * b
        if per == 'bias':
            b = b - rb / np.maximum(gbb, 1e-20)
            continue
        det = np.maximum(gaa * gbb - gab ** 2, 1e-20)
        step_a = (gbb * ra - gab * rb) / det
        step_b = (gaa * rb - gab * ra) / det
        a, b = a - step_a, b - step_b
    return a, b


def fit_main(argv):
    parser = argparse.ArgumentParser(prog='band_bias_pilot.py fit')
    parser.add_argument('-m', '--model', default='unet.model')
    parser.add_argument('-o', '--out', required=True)
    parser.add_argument('-s', '--speech', default='music_speech/speech_wav')
    parser.add_argument('--music', default='music_speech/music_wav')
    parser.add_argument('--items', type=int, default=240)
    parser.add_argument('--per', choices=('band', 'all', 'bias'), nargs='+', default=['band'],
                        help='one fit per choice, written to OUT with the choice before .npz')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    speech_files, music_files = util.find_audio(args.speech), util.find_audio(args.music)
    unet = network.load_unet(args.model)
    mask_fn = make_separate.fed_as_separation_feeds(
        make_separate.network_mask_fn(unet, cli.get_device(-1)))
    parts = []
    while len(parts) < args.items:
        drawn = draw_mixture(speech_files, music_files, rng)
        if drawn is not None:
            parts.append(cells(mask_fn, *drawn))
    l, p, w = (np.concatenate([part[k] for part in parts], axis=1) for k in range(3))
    before = np.sum(w * (sigmoid(l) - p) ** 2)
    for per in args.per:
        a, b = fit_affine(l, p, w, per)
        after = np.sum(w * (sigmoid(a[:, None] * l + b[:, None]) - p) ** 2)
        out = '{}_{}.npz'.format(args.out[:-4] if args.out.endswith('.npz') else args.out, per)
        np.savez(out, a=a, b=b)
        print('{}: {} items, {} frames: weighted error {:.4f} -> {:.4f} ({:+.2f} dB); '
              'a {:.3f}..{:.3f}, b {:.3f}..{:.3f} -> {}'.format(
                  per, len(parts), l.shape[1], before, after, 10 * np.log10(after / before),
                  a.min(), a.max(), b.min(), b.max(), out))


def load_correction(path):
    """``(a, b)`` of the npz ``path`` (``$CORRECTION``), each ``(512,)``; a
    ``UserError`` when ``path`` is empty or not such a file."""
    if not path:
        raise cli.UserError('set CORRECTION to the npz file "band_bias_pilot.py fit" wrote')
    try:
        data = np.load(path)
        if not hasattr(data, 'files'):       # a bare .npy array, not an npz
            raise ValueError(path)
        with data:
            a, b = data['a'], data['b']
    except OSError as err:
        raise cli.UserError('CORRECTION={}: {}'.format(path, err.strerror or err)) from None
    except (ValueError, KeyError, zipfile.BadZipFile, EOFError):
        a = b = None
    if a is None or a.shape != (512,) or b.shape != (512,):
        raise cli.UserError('CORRECTION={}: not an npz of a and b (512,) as "band_bias_pilot.py '
                            'fit" writes'.format(path))
    return a, b


def build_evaluate_parser():
    """evaluate.py's options under this subcommand's name, CORRECTION in
    the epilog."""
    return evaluate.pilot_parser(
        EVALUATE_PROG, 'Score evaluate.py\'s items with every network mask corrected '
        'per bin (a pilot, not adopted)',
        EVALUATE_EPILOG)


def evaluate_main(argv):
    return cli.main(EVALUATE_PROG, build_evaluate_parser(), corrected_evaluation, argv)


def corrected_evaluation(args):
    """``evaluate.evaluate_main`` with every network mask corrected by the
    npz in ``$CORRECTION``; ``make_separate.network_mask_fn`` is put back
    after."""
    a, b = load_correction(os.environ.get('CORRECTION', ''))
    plain = make_separate.network_mask_fn

    def network_mask_fn(unet, device):
        return corrected(plain(unet, device), a, b)
    return evaluate.evaluate_replaced(args, [(make_separate, 'network_mask_fn',
                                              network_mask_fn)])


if __name__ == '__main__':
    if len(sys.argv) < 2 or sys.argv[1] not in ('fit', 'evaluate'):
        sys.exit('usage: band_bias_pilot.py fit|evaluate ...')
    sys.exit((fit_main if sys.argv[1] == 'fit' else evaluate_main)(sys.argv[2:]))
