"""scripts/phase_experiments.py: MISI keeps an all-pass mask exact and
brings the estimates' STFTs closer to the mask's magnitudes."""
import os
import sys
import types

import numpy as np
import pytest

import conftest
from conftest import ROOT, harmonic_stack, noise_bursts

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import cli  # noqa: E402
import make_separate  # noqa: E402
import phase_experiments  # noqa: E402
import util  # noqa: E402

LOW_BINS = 100          # the harmonic stack (150 Hz, 8 harmonics) lies below bin 100


def method(mask_fn, shifts=1, speeds=()):
    separator = make_separate.Separator(mask_fn, shifts=shifts, speeds=speeds)
    return types.SimpleNamespace(separator=separator)


def band_mask(patches):
    """Speech mask 0.9 below ``LOW_BINS``, 0.2 above (the network's bins 1..512)."""
    mask = np.full(patches.shape, 0.2, np.float32)
    mask[:, :, :LOW_BINS - 1, :] = 0.9
    return mask


def mixture():
    return harmonic_stack(3.0) + noise_bursts(3.0, seed=4)


def magnitude_error(signal, target):
    return float(np.sum((np.abs(util.stft(signal)) - target) ** 2))


def test_misi_with_an_all_pass_mask_returns_the_mixture(monkeypatch):
    monkeypatch.setenv('MISI_ITERS', '4')
    x = mixture()
    speech = phase_experiments.misi_estimate(method(np.ones_like),
                                             types.SimpleNamespace(mixture=x))
    assert speech.shape == x.shape
    np.testing.assert_allclose(speech, x, atol=1e-5)


def test_misi_rounds_bring_the_speech_stft_towards_the_mask_magnitude(monkeypatch):
    x = mixture()
    one = method(band_mask)
    spectrum, mask = phase_experiments.network_mask(one.separator, x)
    assert mask.shape == spectrum.shape
    target = mask * np.abs(spectrum)
    errors = []
    for rounds in (0, 5):
        monkeypatch.setenv('MISI_ITERS', str(rounds))
        speech = phase_experiments.misi_estimate(one, types.SimpleNamespace(mixture=x))
        errors.append(magnitude_error(speech, target))
    assert errors[1] < 0.8 * errors[0]


def test_misi_refuses_views_it_does_not_apply():
    with pytest.raises(cli.UserError, match='--shifts 1 --speeds 1'):
        phase_experiments.misi_estimate(method(band_mask, shifts=2),
                                        types.SimpleNamespace(mixture=mixture()))


@pytest.mark.parametrize('rounds', ['three', '2.5', '-1',
                                    pytest.param('-' + '9' * 400, id='-9x400')])
def test_rounds_that_are_not_a_count_are_refused_at_start(rounds, tmp_path, monkeypatch,
                                                          capsys):
    """A MISI_ITERS that is not a whole number had ended in a traceback at
    the first item (and a negative one had run no rounds; one past a
    float's range in cli.number's OverflowError); now one line before any
    item is read, naming the variable and its value."""
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)
    monkeypatch.setenv('REFINE', 'misi')
    monkeypatch.setenv('MISI_ITERS', rounds)
    err = conftest.refusal(phase_experiments.main, 'phase_experiments.py',
                           ['-i', str(tmp_path / 'none')], capsys)
    assert 'MISI_ITERS={}: '.format(rounds) in err
    assert 'no such folder' not in err
