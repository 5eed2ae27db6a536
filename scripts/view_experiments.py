"""Views docs/MODEL.md tried and did not adopt ("An eighth session", "An
eleventh session").

Runs evaluate.py with its model's estimate replaced by one of:

* ``VIEWS=resample-plain``: the mixture resampled to play 0.95 and 1.05 times
  as fast, separated, played back and averaged with the plain separation,
  without the plain view's top band added back (make_separate.py's
  ``--speeds`` adds it: that is the difference);
* ``VIEWS=warp``: each patch's magnitudes stretched along frequency by 0.95
  and 1.05 (content at bin k moved to k times the factor, no resampling),
  masked, the masks warped back and averaged with the plain mask; bins a
  view does not cover keep the plain mask;
* ``VIEWS=reverse``: each patch also masked played backwards (its frames in
  reverse order), the mask turned round and averaged with the plain mask:
  the network's kernels are not symmetric in time, so the reversed patch is
  a second view of the same sound;
* ``VIEWS=model OTHER_MODEL=PATH``: each patch's mask the mean of the
  ``-m`` model's and the model in ``PATH``'s (a two-model ensemble; each
  network applies its own input power).

Usage: VIEWS=warp python3 scripts/view_experiments.py -i build/val_eval \
    -m unet.model --quick --shifts 1 --speeds 1 --csv warp.csv
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import chainer  # noqa: E402
import cli  # noqa: E402
import evaluate  # noqa: E402
import make_separate  # noqa: E402
import network  # noqa: E402
import util  # noqa: E402

PROG = 'view_experiments.py'
FACTORS = (0.95, 1.05)
BINS = np.arange(1, 513, dtype=np.float64)      # the network's bins k = 1..512 (DC dropped)
EPILOG = ('Environment: VIEWS=resample-plain, the separation averaged with those of the '
          'mixture played {0} times as fast, played back, without the top band added back '
          'that --speeds adds; '
          'VIEWS=warp, each patch\'s mask averaged with those of the patch stretched along '
          'frequency by {0}; VIEWS=reverse, each patch\'s mask averaged with that of the '
          'patch played backwards; VIEWS=model with OTHER_MODEL=PATH, each patch\'s mask the '
          'mean of the -m model\'s and PATH\'s. VIEWS is required. The options are '
          'evaluate.py\'s; each model\'s estimate is the one with the views.'.format(
              ' and '.join('{:g}'.format(f) for f in FACTORS)))


def resampled_estimate(self, item):
    """Plain separation averaged with speed views, nothing added back."""
    n = len(item.mixture)
    total = self.separator.separate(item.mixture)[0]
    for factor in FACTORS:
        view = self.separator.separate(util.change_speed(item.mixture, factor))[0]
        back = util.change_speed(view, 1.0 / factor)[:n]
        total = total + np.pad(back, (0, n - len(back)))
    return total / (1 + len(FACTORS))


def at_bins(x, positions):
    """``x`` (B, 1, 512, T) read at fractional bins ``positions``, linearly."""
    pos = np.clip(positions, 1, 512) - 1
    low = np.floor(pos).astype(int)
    high = np.minimum(low + 1, 511)
    weight = (pos - low).astype(np.float32)[None, None, :, None]
    return x[:, :, low, :] * (1 - weight) + x[:, :, high, :] * weight


def warped(mask_fn):
    """``mask_fn`` averaged over frequency-stretched views of each patch."""
    def fn(patches):
        plain = mask_fn(patches)
        total = plain.copy()
        for factor in FACTORS:
            mask = mask_fn(at_bins(patches, BINS / factor).astype(np.float32))
            outside = (BINS * factor > 512)[None, None, :, None]
            total += np.where(outside, plain, at_bins(mask, BINS * factor))
        return total / (1 + len(FACTORS))
    return fn


def reversed_in_time(mask_fn):
    """``mask_fn`` averaged with its mask of each patch played backwards."""
    def fn(patches):
        backwards = mask_fn(np.ascontiguousarray(patches[..., ::-1]))[..., ::-1]
        return (mask_fn(patches) + backwards) / 2.0
    return fn


def with_other_model(path):
    """``make_separate.network_mask_fn`` that averages its network's mask with
    the mask of the model in ``path`` (on the CPU)."""
    other = network.load_unet(path)
    one_network = make_separate.network_mask_fn

    def mask_fn(unet, device):
        first = one_network(unet, device)
        second = one_network(other, chainer.get_device('@numpy'))
        return lambda patches: (first(patches) + second(patches)) / 2.0
    return mask_fn


def build_parser():
    """evaluate.py's options under this script's name, VIEWS and
    OTHER_MODEL in the epilog."""
    return evaluate.pilot_parser(
        PROG, 'Score evaluate.py\'s items with each model\'s estimate '
        'averaged over other views (pilots, not adopted)',
        EPILOG)


def main(argv=None):
    return cli.main(PROG, build_parser(), viewed_evaluation, argv)


def viewed_evaluation(args):
    """``evaluate.evaluate_main`` with the views ``$VIEWS`` names; the
    functions replaced for them are put back after."""
    levelled = make_separate.levelled
    variant = os.environ.get('VIEWS', '')
    if variant == 'resample-plain':
        replacement = (evaluate.ModelMethod, 'estimate', resampled_estimate)
    elif variant == 'warp':
        replacement = (make_separate, 'levelled',
                       lambda fn, *a, **k: warped(levelled(fn, *a, **k)))
    elif variant == 'reverse':
        replacement = (make_separate, 'levelled',
                       lambda fn, *a, **k: reversed_in_time(levelled(fn, *a, **k)))
    elif variant == 'model' and os.environ.get('OTHER_MODEL'):
        replacement = (make_separate, 'network_mask_fn',
                       with_other_model(os.environ['OTHER_MODEL']))
    else:
        sys.exit('view_experiments.py: set VIEWS=resample-plain, VIEWS=warp, VIEWS=reverse or '
                 'VIEWS=model with OTHER_MODEL=PATH')
    return evaluate.evaluate_replaced(args, [replacement])


if __name__ == '__main__':
    sys.exit(main())
