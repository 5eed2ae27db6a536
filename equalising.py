"""The network's input brought towards the long-term spectral shape of the
mixtures it was trained on (``make_separate.py --equalise``).

A recording heard through another channel (a telephone line, a small
speaker, a bright microphone, a bass-heavy master) has its long-term
spectrum cut, tilted or boosted, and a network that has learnt "this band,
this balance is speech" masks it less well (docs/MODEL.md, "A fourteenth
session"). Before the network, each patch's magnitudes are raised, bin by
bin, where the patch's long-term shape falls short of the reference shape
``const.EQUALISE_REFERENCE_DB`` (the mean shape of the training examples,
``scripts/equalise_reference.py``), by at most ``const.EQUALISE_LIMIT_DB``.

Only what the network sees changes: the mask still applies to the mixture
as it is, so nothing is added to the output. Bins are only raised, never
cut (cutting, tried, cost more on recordings as they are than it gained on
other channels).

The long-term shape of a patch ``(512, frames)``: its mean power per bin,
smoothed over ``const.EQUALISE_OCTAVES`` (a Gaussian on a log-frequency
axis, that many octaves one standard deviation), in dB re its highest bin.
"""
import numpy as np

import const

FREQS = np.arange(1, const.NET_BINS + 1) * const.SR / const.FFT_SIZE   # Hz, the network's bins
POWER_FLOOR = 1e-10      # a shape's floor, re its highest bin (-100 dB): silent bins stay finite


def smoother(octaves=const.EQUALISE_OCTAVES):
    """``(512, 512)`` weights that smooth a ``(512,)`` spectrum: row ``k`` a
    Gaussian in octaves about bin ``k``'s frequency, summing to 1."""
    distance = np.log2(FREQS[:, None] / FREQS[None, :])
    weights = np.exp(-0.5 * (distance / octaves) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


def shape_db(power, weights):
    """The long-term shape, dB re its highest bin ``(512,)``, of mean powers
    ``(512,)`` per bin, smoothed by ``weights`` (``smoother``)."""
    smooth = weights @ np.asarray(power, np.float64)
    top = max(float(smooth.max()), 0.0)
    return 10.0 * np.log10(np.maximum(smooth, POWER_FLOOR * top) / top)


def reference_shape(table=const.EQUALISE_REFERENCE_DB):
    """The reference shape at the network's bins ``(512,)``, dB:
    ``table``'s ``(Hz, dB)`` points interpolated on a log-frequency axis."""
    hz, db = np.array(table, np.float64).T
    return np.interp(np.log2(FREQS), np.log2(hz), db)


def patch_gains_db(patch, ref_shape, weights, limit_db=const.EQUALISE_LIMIT_DB,
                   cut=False):
    """Gains, dB ``(512,)``, that bring ``patch (512, frames)``'s long-term
    shape towards ``ref_shape`` (dB ``(512,)``): the difference of the two
    shapes less its median over the bins (the bins are evenly spaced in Hz,
    so the median is set by the upper octaves, where most bins lie), raised
    gains only, at most ``limit_db``; with ``cut`` lowered ones too, down
    to ``-limit_db``. All zeros for a silent patch."""
    power = (np.asarray(patch, np.float64) ** 2).mean(axis=1)
    if power.max() <= 0.0:
        return np.zeros(len(power))
    gains = ref_shape - shape_db(power, weights)
    gains -= np.median(gains)
    return np.clip(gains, -limit_db if cut else 0.0, limit_db)


def equalised(mask_fn, ref_shape=None, octaves=const.EQUALISE_OCTAVES,
              limit_db=const.EQUALISE_LIMIT_DB, cut=False):
    """``mask_fn`` (``patches (B, 1, 512, frames) -> masks``) fed each patch
    multiplied bin by bin by its ``patch_gains_db`` towards ``ref_shape``
    (default ``reference_shape()``)."""
    weights = smoother(octaves)
    ref_shape = reference_shape() if ref_shape is None else ref_shape

    def fn(patches):
        out = np.array(patches, np.float32, copy=True)
        for patch in out:
            gains = patch_gains_db(patch[0], ref_shape, weights, limit_db, cut)
            patch[0] *= (10.0 ** (gains / 20.0)).astype(np.float32)[:, None]
        return mask_fn(out)
    return fn
