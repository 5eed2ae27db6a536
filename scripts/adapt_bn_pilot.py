"""A pilot, not adopted: normalisation statistics adapted to each file.

Runs evaluate.py with its model's estimate replaced by a separation whose
batch-normalisation statistics are first moved towards the file's own:
the file is separated once to collect the patches the network is fed (as
separation feeds them: equalised, levelled), the network is run over them
in training mode (dropout off, ``recalibrate_bn.accumulating_statistics``)
to measure each normalisation layer's mean and variance on this file, and
the running statistics become ``(1 - ALPHA) * trained + ALPHA * file's``.
The file is then separated with them, and the trained statistics are put
back. ALPHA 0 is the plain model. The idea (AdaBN, Li et al. 2016) is
that recordings unlike the training mixtures (another channel, a room)
shift what the layers see, and renormalising on the file itself undoes
part of that shift.

Usage: ALPHA=0.5 python3 scripts/adapt_bn_pilot.py -i build/val_eval \
    -m unet.model --quick --shifts 1 --speeds 1 --csv adapted.csv
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chainer  # noqa: E402
import cli  # noqa: E402
import evaluate  # noqa: E402
import make_separate  # noqa: E402
from recalibrate_bn import accumulating_statistics, norm_links  # noqa: E402

PROG = 'adapt_bn_pilot.py'
BATCH = 16           # patches per batch while measuring (as training's)
DEFAULT_ALPHA = 0.5  # ALPHA when unset or empty
STATE = {'unet': None, 'record': None}
EPILOG = ('Environment: ALPHA, the share of the file\'s own normalisation statistics in '
          'those the file is separated with (0: the plain model, 1: the file\'s alone; '
          'default {}). The options are evaluate.py\'s; each model\'s estimate is the '
          'adapted separation.'.format(DEFAULT_ALPHA))


def recording_mask_fn(unet, device):
    """``make_separate.network_mask_fn`` that, while ``STATE['record']`` is a
    list, keeps the patches it is fed there and returns no mask (ones)."""
    STATE['unet'] = unet
    plain = NETWORK_MASK_FN(unet, device)

    def mask_fn(patches):
        if STATE['record'] is not None:
            STATE['record'].append(np.array(patches))
            return np.ones_like(patches)
        return plain(patches)
    return mask_fn


def adapted_estimate(self, item):
    share = alpha()
    unet = STATE['unet']
    links = norm_links(unet)
    trained = [(link.avg_mean.copy(), link.avg_var.copy()) for link in links]
    STATE['record'] = []
    try:
        self.separator.separate(item.mixture)
        patches = np.concatenate(STATE['record'])
    finally:
        STATE['record'] = None
    with accumulating_statistics(unet):
        for start in range(0, len(patches), BATCH):
            unet(patches[start:start + BATCH])   # statistics over patches and positions
    for link, (mean, var) in zip(links, trained):
        link.avg_mean[...] = (1 - share) * mean + share * link.avg_mean
        link.avg_var[...] = (1 - share) * var + share * link.avg_var
    try:
        return self.separator.separate(item.mixture)[0]
    finally:
        for link, (mean, var) in zip(links, trained):
            link.avg_mean[...] = mean
            link.avg_var[...] = var


def alpha():
    """The share in ``$ALPHA`` (a number from 0 to 1; ``DEFAULT_ALPHA``
    when unset or empty), or ``cli.UserError``."""
    text = os.environ.get('ALPHA', '')
    if not text.strip():
        return DEFAULT_ALPHA
    return cli.number('ALPHA=' + text, text, "the share of the file's own statistics", 0, 1)


NETWORK_MASK_FN = make_separate.network_mask_fn


def build_parser():
    """evaluate.py's options under this script's name, ALPHA in the epilog."""
    return evaluate.pilot_parser(
        PROG, 'Score evaluate.py\'s items with each file\'s own normalisation '
        'statistics mixed into the model\'s (a pilot, not adopted)',
        EPILOG)


def main(argv=None):
    return cli.main(PROG, build_parser(), adapted_evaluation, argv)


def adapted_evaluation(args):
    """``evaluate.evaluate_main`` with each model's estimate adapted; the
    two functions replaced for it are put back after."""
    alpha()     # a mistake is found before the first item, not at it
    return evaluate.evaluate_replaced(args, [
        (make_separate, 'network_mask_fn', recording_mask_fn),
        (evaluate.ModelMethod, 'estimate', adapted_estimate)])


if __name__ == '__main__':
    sys.exit(main())
