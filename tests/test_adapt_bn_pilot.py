"""scripts/adapt_bn_pilot.py: normalisation statistics moved towards each file's own."""
import os
import sys
import types

import numpy as np
import pytest

import conftest
from conftest import ROOT, harmonic_stack, noise_bursts

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import adapt_bn_pilot  # noqa: E402
import make_separate  # noqa: E402


def test_alpha_zero_is_the_plain_model_and_the_statistics_come_back(model_path, monkeypatch):
    monkeypatch.setattr(make_separate, 'network_mask_fn', adapt_bn_pilot.recording_mask_fn)
    plain = make_separate.load_separator(model_path, shifts=1, speeds=())
    method = types.SimpleNamespace(separator=plain)
    unet = adapt_bn_pilot.STATE['unet']
    trained = [link.avg_var.copy() for link in adapt_bn_pilot.norm_links(unet)]
    mixture = (harmonic_stack(10.0) + 0.3 * noise_bursts(10.0)).astype(np.float32)
    item = types.SimpleNamespace(mixture=mixture)

    expected = plain.separate(mixture)[0]
    monkeypatch.setenv('ALPHA', '0')
    np.testing.assert_allclose(adapt_bn_pilot.adapted_estimate(method, item), expected, atol=1e-6)
    monkeypatch.setenv('ALPHA', '1')
    adapted = adapt_bn_pilot.adapted_estimate(method, item)
    assert adapted.shape == expected.shape and np.abs(adapted - expected).max() > 1e-4
    for link, var in zip(adapt_bn_pilot.norm_links(unet), trained):
        np.testing.assert_array_equal(link.avg_var, var)     # put back after the file
    np.testing.assert_allclose(plain.separate(mixture)[0], expected, atol=1e-6)


@pytest.mark.parametrize('alpha', ['half', 'nan', '-0.5', '1.5'])
def test_an_alpha_that_is_not_a_share_is_refused_at_start(alpha, tmp_path, monkeypatch, capsys):
    """A non-numeric ALPHA had ended in a traceback at the first item (and
    one outside 0..1 had mixed in negative variances); now one line before
    any item is read, naming the variable and its value."""
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)
    monkeypatch.setenv('ALPHA', alpha)
    err = conftest.refusal(adapt_bn_pilot.main, 'adapt_bn_pilot.py',
                           ['-i', str(tmp_path / 'none')], capsys)
    assert 'ALPHA={}: '.format(alpha) in err
    assert 'no such folder' not in err


def test_an_empty_alpha_is_the_default(monkeypatch):
    monkeypatch.setenv('ALPHA', ' ')
    assert adapt_bn_pilot.alpha() == adapt_bn_pilot.DEFAULT_ALPHA
    monkeypatch.setenv('ALPHA', '0.25')
    assert adapt_bn_pilot.alpha() == 0.25
