"""The two views docs/MODEL.md ("An eighth session") tried and did not adopt.

Runs evaluate.py with its model's estimate replaced by one of:

* ``VIEWS=resample-plain``: the mixture resampled to play 0.95 and 1.05 times
  as fast, separated, played back and averaged with the plain separation,
  without the plain view's top band added back (make_separate.py's
  ``--speeds`` adds it: that is the difference);
* ``VIEWS=warp``: each patch's magnitudes stretched along frequency by 0.95
  and 1.05 (content at bin k moved to k times the factor, no resampling),
  masked, the masks warped back and averaged with the plain mask; bins a
  view does not cover keep the plain mask.

Usage: VIEWS=warp python3 scripts/view_experiments.py -i build/val_eval \
    -m unet.model --quick --shifts 1 --speeds 1 --csv warp.csv
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import evaluate  # noqa: E402
import make_separate  # noqa: E402
import util  # noqa: E402

FACTORS = (0.95, 1.05)
BINS = np.arange(1, 513, dtype=np.float64)      # the network's bins k = 1..512 (DC dropped)


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


def main():
    variant = os.environ.get('VIEWS', '')
    if variant == 'resample-plain':
        evaluate.ModelMethod.estimate = resampled_estimate
    elif variant == 'warp':
        levelled = make_separate.levelled
        make_separate.levelled = lambda fn, *a, **k: warped(levelled(fn, *a, **k))
    else:
        sys.exit('view_experiments.py: set VIEWS=resample-plain or VIEWS=warp')
    return evaluate.main()


if __name__ == '__main__':
    sys.exit(main())
