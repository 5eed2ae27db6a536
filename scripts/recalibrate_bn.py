"""Re-estimate a U-Net's batch-normalisation statistics as separation sees them.

Training keeps each normalisation layer's running mean and variance as an
exponential average over the last few batches (Chainer's decay 0.9: about
ten steps of 16 patches), measured with dropout on and on patches at the
training gains. Separation uses those statistics with dropout off and each
patch equalised (``make_separate.py --equalise boost``) and levelled to
``const.PATCH_LEVEL_DB`` (``--level patch``). This script runs the model over
``--patches`` examples drawn by ``train.mixing_dataset`` (from the speech and
music folders given, the training side, with the ``train.py`` mixing options
of ``--mixing``), with dropout off and each patch fed to the network as
separation feeds it (``make_separate.fed_as_separation_feeds``), and
replaces the running statistics by their mean over all those batches
(Chainer's ``finetune`` mode). The weights are not changed. A mean of
checkpoints' weights (``scripts/average_models.py``) carries the mean of
their statistics, measured for none of them; this gives it its own. Check
the result with evaluate.py before shipping it.

Usage: python3 scripts/recalibrate_bn.py unet.model -s music_speech/speech_wav \
    -m music_speech/music_wav -o recalibrated.model \
    [--mixing="--balance-music --music-speed 0.9 1.1 --colour-mix 0.5"]
"""
import argparse
import contextlib
import functools
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import numpy as np  # noqa: E402
import compat  # noqa: E402,F401  (before chainer: NumPy 2 / Python 3.12 shims)
import chainer  # noqa: E402
from tqdm import tqdm  # noqa: E402

import cli  # noqa: E402
import const  # noqa: E402
import make_separate  # noqa: E402
import network  # noqa: E402
import train  # noqa: E402
import util  # noqa: E402

PROG = 'recalibrate_bn.py'


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('model', help='the model (or trainer snapshot) to recalibrate')
    parser.add_argument('--speech', '-s', required=True, help='folder of speech audio')
    parser.add_argument('--music', '-m', required=True, help='folder of music audio')
    parser.add_argument('--out', '-o', required=True, help='the recalibrated model (npz)')
    parser.add_argument('--patches', type=int, default=const.RECALIBRATE_PATCHES,
                        help='examples to measure over (default %(default)s)')
    parser.add_argument('--batchsize', '-b', type=int, default=const.RECALIBRATE_BATCH,
                        help='patches a batch (default %(default)s)')
    parser.add_argument('--level', choices=('patch', 'train'), default='patch',
                        help='patch (default): each patch equalised and levelled as '
                             'make_separate.py feeds it; train: as train.py --mix draws it')
    parser.add_argument('--equalise', choices=const.EQUALISE, default=const.EQUALISE[0],
                        help='with --level patch: the make_separate.py --equalise to '
                             'measure the statistics for (default %(default)s)')
    parser.add_argument('--mixing', default=const.REFERENCE_MIXING, metavar='OPTIONS',
                        help='train.py options the examples are drawn with, in one string '
                             '(default: "%(default)s")')
    parser.add_argument('--seed', type=int, default=0, help='random seed of the examples')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), recalibrate, argv)


def recalibrate(args):
    cli.check_range('--patches', args.patches, 2, 10 ** 7)
    cli.check_range('--batchsize', args.batchsize, 2, 4096)
    cli.prepare_output(args.out, args.overwrite, inputs=[args.model])
    unet = network.load_unet(args.model)
    dataset = examples(args)
    fn = network_input(args)
    # whole batches only: a last short one would weigh as much as a full one
    measured = args.patches // args.batchsize * args.batchsize or args.patches
    with accumulating_statistics(unet):
        for start in tqdm(range(0, measured, args.batchsize), desc='batches', unit='batch'):
            ids = range(start, min(start + args.batchsize, measured))
            unet(fn(np.stack([dataset[i][0] for i in ids])))
    with util.replacing(args.out) as tmp:
        chainer.serializers.save_npz(tmp, unet)
    print('recalibrated {} normalisation layers over {} patches into {}'.format(
        len(norm_links(unet)), measured, args.out))
    return 0


def examples(args):
    """A ``mixing.MixingDataset`` over the two folders, drawn as ``train.py
    --mix`` with the options of ``args.mixing`` draws its examples; one
    ``cli.UserError`` line for a string that does not split as a shell would
    (an open quote) or an option train.py refuses (``-l`` not a multiple of
    ``const.PATCH_MULTIPLE``, say)."""
    try:
        train_args = train.mixing_args(shlex.split(args.mixing), args.speech, args.music,
                                       args.seed, epoch_size=args.patches)
    except ValueError as err:     # shlex: "No closing quotation", "No escaped character"
        raise cli.UserError('--mixing {}: {}'.format(args.mixing, err)) from None
    except cli.UserError as err:
        raise cli.UserError('--mixing "{}": {}'.format(args.mixing, err))
    return train.mixing_dataset(train_args)[0]


def network_input(args):
    """``patches (B, 1, 512, frames) -> patches`` as the network is to be fed:
    as separation feeds it (``--level patch``) or as drawn (``--level train``)."""
    if args.level == 'train':
        return lambda patches: patches
    return make_separate.fed_as_separation_feeds(lambda patches: patches,
                                                 equalise=args.equalise)


def norm_links(unet):
    return [getattr(unet, name) for name in network.norm_names()]


@contextlib.contextmanager
def accumulating_statistics(unet):
    """Within: forward passes of ``unet`` (training mode, dropout off, no
    graph) make every normalisation layer's running statistics the mean over
    the batches seen since entering."""
    links = norm_links(unet)
    dropout = unet.dropout
    unet.dropout = 0.0
    for link in links:
        link.N = 0
        link.forward = functools.partial(type(link).forward, link, finetune=True)
    try:
        with chainer.using_config('train', True), chainer.no_backprop_mode():
            yield
    finally:
        unet.dropout = dropout
        for link in links:
            del link.forward


if __name__ == '__main__':
    sys.exit(main())
