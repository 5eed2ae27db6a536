"""scripts/band_bias_pilot.py: the per-bin fit finds a planted correction,
leaves a right mask alone, and the corrected mask function applies it."""
import os
import sys

import numpy as np

from conftest import ROOT, harmonic_stack, high_noise, low_band_mask

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import band_bias_pilot  # noqa: E402


def planted(rng, bins=512, cells=400):
    """Logits of a mask and targets that a per-bin ``a, b`` maps them onto."""
    l = rng.normal(0.0, 2.5, size=(bins, cells))
    a = np.linspace(0.6, 1.3, bins)
    b = np.linspace(-0.5, 0.4, bins)
    p = band_bias_pilot.sigmoid(a[:, None] * l + b[:, None])
    return l, p, np.ones_like(l), a, b


def test_fit_per_bin_recovers_a_planted_correction():
    l, p, w, a, b = planted(np.random.default_rng(0))
    fa, fb = band_bias_pilot.fit_affine(l, p, w, 'band', ridge=0.0)
    np.testing.assert_allclose(fa, a, atol=1e-3)
    np.testing.assert_allclose(fb, b, atol=1e-3)


def test_fit_of_a_right_mask_is_the_identity():
    l, _, w, _, _ = planted(np.random.default_rng(1))
    for per in ('band', 'all', 'bias'):
        fa, fb = band_bias_pilot.fit_affine(l, band_bias_pilot.sigmoid(l), w, per)
        np.testing.assert_allclose(fa, 1.0, atol=1e-6)
        np.testing.assert_allclose(fb, 0.0, atol=1e-6)


def test_shared_fit_gives_one_pair_and_bias_fit_keeps_the_slope():
    l, p, w, _, _ = planted(np.random.default_rng(2))
    fa, fb = band_bias_pilot.fit_affine(l, p, w, 'all')
    assert np.ptp(fa) == 0 and np.ptp(fb) == 0
    fa, fb = band_bias_pilot.fit_affine(l, p, w, 'bias')
    np.testing.assert_array_equal(fa, 1.0)
    assert np.ptp(fb) > 0.5


def test_ridge_holds_bins_without_weight_at_the_identity():
    l, p, w, _, _ = planted(np.random.default_rng(3))
    w[256:] = 0.0
    fa, fb = band_bias_pilot.fit_affine(l, p, w, 'band')
    np.testing.assert_allclose(fa[256:], 1.0, atol=1e-6)
    np.testing.assert_allclose(fb[256:], 0.0, atol=1e-6)
    assert np.max(np.abs(fa[:256] - 1.0)) > 0.1


def test_corrected_mask_fn_maps_each_bin_logit():
    patches = np.full((2, 1, 512, 8), 0.5, np.float32)
    mask_fn = band_bias_pilot.corrected(lambda x: np.full(x.shape, 0.5, np.float32),
                                        np.ones(512), np.linspace(-2.0, 2.0, 512))
    out = mask_fn(patches)
    assert out.shape == patches.shape and out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0, :, 3], band_bias_pilot.sigmoid(np.linspace(-2, 2, 512)),
                               rtol=1e-5)


def test_cells_give_the_mixture_target_where_the_sources_do_not_overlap():
    speech = harmonic_stack(3.0)           # below 1.2 kHz
    mixture = speech + high_noise(3.0)     # the noise above 3 kHz
    l, p, w = band_bias_pilot.cells(low_band_mask, mixture, speech)
    assert l.shape == p.shape == w.shape == (512, 1 + len(mixture) // 512)
    loud = w > 1e-3 * w.max()
    assert np.all(p[:60][loud[:60]] > 0.9)          # speech bins: the target is 1
    assert np.all(np.abs(p[200:][loud[200:]]) < 0.1)   # noise bins: 0
    assert np.all(l[:100] > 5) and np.all(l[200:] < -5)   # the mask's logits, clipped
