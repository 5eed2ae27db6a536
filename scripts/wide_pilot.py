"""Pilot: a wider U-Net grown from a trained one (Net2WiderNet), to test
whether width lifts the plateau of docs/MODEL.md's Limits.

Every channel count of the U-Net times WIDTH, the link names unchanged.
Each new channel copies an old one (weights, bias, batch-norm statistics),
its consumers' weights are divided by the number of copies, so the wide
network computes the same mask; ``noise`` (relative, on the copies) breaks
their symmetry so that training can tell them apart. Not a product
option: make_separate.py reads width-1 models only; ``train`` and
``evaluate`` below run train.py and evaluate.py with the wide network.

Usage:
  python3 scripts/wide_pilot.py widen WIDTH IN.model OUT.model
  python3 scripts/wide_pilot.py train WIDTH -- TRAIN.PY OPTIONS (mpiexec too)
  python3 scripts/wide_pilot.py evaluate WIDTH -- EVALUATE.PY OPTIONS
WIDTH: a number, 1 or more.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import compat  # noqa: F401,E402  (before chainer)
import chainer  # noqa: E402
import cli  # noqa: E402
import network  # noqa: E402

PROG = 'wide_pilot.py'
BASE = list(network.UNet.channels)
EVALUATE_EPILOG = ('WIDTH: every channel count of the U-Net times WIDTH; the -m models are '
                   'wide ones ("wide_pilot.py widen" or "wide_pilot.py train" of this WIDTH). '
                   'The options are evaluate.py\'s, after WIDTH and an optional --.')
_Original = network.UNet


def make_class(width):
    """``(class, channels)``: the U-Net with every channel count times ``width``."""
    c = [int(round(b * width)) for b in BASE]

    class WideUNet(_Original):
        channels = tuple(c)
    return WideUNet, c


def install(width):
    """Make ``network.UNet`` (and so ``load_unet``, train.py, evaluate.py) the wide one."""
    network.UNet = make_class(width)[0]


def widen(small, width, noise=0.05, seed=0):
    """The wide U-Net computing what ``small`` computes (up to ``noise``,
    relative, on the copied weights, to break the copies' symmetry)."""
    rng = np.random.RandomState(seed)
    cls, c = make_class(width)
    wide = cls(dropout=small.dropout, input_power=small.input_power)
    maps = [np.concatenate([np.arange(b), rng.randint(0, b, n - b)]) for b, n in zip(BASE, c)]
    maps.append(np.array([0]))     # the mask: one channel
    counts = [np.bincount(m, minlength=b) for m, b in zip(maps, BASE + [1])]

    def feed(level):        # input-channel map and divisors of a feature level
        return maps[level], counts[level]

    def skip(level):        # decoder input: its own features, then the encoder's, at a level
        return (np.concatenate([maps[level], maps[level] + BASE[level]]),
                np.concatenate([counts[level], counts[level]]))

    def conv(name, out_level, in_map, in_count, deconv):
        src, dst = getattr(small, name), getattr(wide, name)
        W = src.W.array
        om = maps[out_level]
        if deconv:          # (in, out, kh, kw)
            Wn = W[in_map][:, om] / in_count[in_map][:, None, None, None]
        else:               # (out, in, kh, kw)
            Wn = W[om][:, in_map] / in_count[in_map][None, :, None, None]
        Wn = Wn.copy()
        copies = np.arange(len(om)) >= (BASE + [1])[out_level]
        if deconv:
            Wn[:, copies] *= 1 + noise * rng.standard_normal(Wn[:, copies].shape)
        else:
            Wn[copies] *= 1 + noise * rng.standard_normal(Wn[copies].shape)
        dst.W.array[...] = Wn
        dst.b.array[...] = src.b.array[om]

    def norm(name, level):
        src, dst = getattr(small, name), getattr(wide, name)
        m = maps[level]
        for attr in ('gamma', 'beta'):
            getattr(dst, attr).array[...] = getattr(src, attr).array[m]
        for attr in ('avg_mean', 'avg_var'):
            getattr(dst, attr)[...] = getattr(src, attr)[m]
        dst.N = src.N

    one = (np.array([0]), np.array([1]))
    conv('conv1', 0, *one, False)
    for k in range(1, 6):
        conv('conv%d' % (k + 1), k, *feed(k - 1), False)
    for k in range(6):
        norm('norm%d' % (k + 1), k)
    conv('deconv1', 4, *feed(5), True)
    norm('denorm1', 4)
    for k, level in zip(range(2, 6), (4, 3, 2, 1)):
        conv('deconv%d' % k, level - 1, *skip(level), True)
        norm('denorm%d' % k, level - 1)
    conv('deconv6', 6, *skip(0), True)
    return wide


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] not in ('widen', 'train', 'evaluate'):
        print(__doc__.split('Usage:')[1], file=sys.stderr)
        return 2
    try:
        width = cli.number('WIDTH ' + argv[1], argv[1], 'the factor on the channel counts', 1)
    except cli.UserError as err:
        print('{}: error: {}'.format(PROG, err), file=sys.stderr)
        return cli.EXIT_ERROR
    verb, rest = argv[0], argv[2:]
    if rest[:1] == ['--']:
        rest = rest[1:]
    if verb == 'widen':
        small = network.load_unet(rest[0])
        wide = widen(small, width)
        chainer.serializers.save_npz(rest[1], wide)
        print('widened {} ({} weights) to {} ({} weights)'.format(
            rest[0], sum(p.size for p in small.params()), rest[1],
            sum(p.size for p in wide.params())))
        return 0
    unet = network.UNet
    install(width)
    try:
        if verb == 'train':
            return wide_training(argv[1], rest)
        return wide_evaluation(argv[1], rest)
    finally:
        network.UNet = unet


def wide_training(width, argv):
    """train.py's run on ``argv`` under ``wide_pilot.py train WIDTH``'s name
    (``width`` as given) in its help and every error line, the wide network
    installed; train.py's own name is put back after."""
    import train
    prog = train.PROG
    train.PROG = 'wide_pilot.py train {}'.format(width)
    try:
        return train.main(argv)
    finally:
        train.PROG = prog


def wide_evaluation(width, argv):
    """evaluate.py's run on ``argv`` under ``wide_pilot.py evaluate WIDTH``'s
    name (``width`` as given), with the wide network installed."""
    import evaluate
    prog = 'wide_pilot.py evaluate {}'.format(width)
    parser = evaluate.pilot_parser(
        prog, 'Score evaluate.py\'s items with wide U-Nets (a pilot, not adopted)',
        EVALUATE_EPILOG)
    return cli.main(prog, parser, evaluate.evaluate_main, argv)


if __name__ == '__main__':
    sys.exit(main())
