"""scripts/wide_pilot.py: the widened U-Net computes what the narrow one did."""
import os
import sys

import chainer
import numpy as np
import pytest

import conftest
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import network  # noqa: E402
import train  # noqa: E402
import wide_pilot  # noqa: E402


def masks(unet, x, train=False):
    with chainer.using_config('train', train), chainer.no_backprop_mode():
        return unet(x).array


def trained_like_unet():
    """A U-Net with random weights and batch-norm statistics (not the
    initial 0/1), so that copying them wrongly would show."""
    rng = np.random.RandomState(3)
    unet = network.UNet(dropout=0.0)
    for link in unet.links():
        if isinstance(link, chainer.links.BatchNormalization):
            link.avg_mean[...] = rng.uniform(-0.1, 0.1, link.avg_mean.shape)
            link.avg_var[...] = rng.uniform(0.5, 2.0, link.avg_var.shape)
            link.beta.array[...] = rng.uniform(-0.1, 0.1, link.beta.shape)
    return unet


def test_widened_unet_gives_the_same_mask(tmp_path, monkeypatch):
    small = trained_like_unet()
    x = np.abs(np.random.RandomState(1).standard_normal((2, 1, 512, 64))).astype(np.float32)
    wide = wide_pilot.widen(small, 1.5, noise=0.0)
    assert wide.conv1.W.shape[0] == 24 and wide.deconv6.W.shape == (48, 1, 4, 4)
    assert sum(p.size for p in wide.params()) > 2 * sum(p.size for p in small.params())
    np.testing.assert_allclose(masks(wide, x), masks(small, x), atol=1e-5)
    np.testing.assert_allclose(masks(wide, x, train=True), masks(small, x, train=True), atol=1e-4)
    # the copies are told apart by the noise, and the file loads as the wide network
    noisy = wide_pilot.widen(small, 1.5, noise=0.05)
    assert not np.allclose(noisy.conv2.W.array[16:], wide.conv2.W.array[16:])
    path = str(tmp_path / 'wide.model')
    chainer.serializers.save_npz(path, noisy, compression=False)
    monkeypatch.setattr(network, 'UNet', network.UNet)   # undone after the test
    wide_pilot.install(1.5)
    loaded = network.load_unet(path)
    np.testing.assert_array_equal(masks(loaded, x), masks(noisy, x))


def test_wide_training_speaks_in_the_pilots_name(tmp_path, monkeypatch, capsys):
    """``wide_pilot.py train`` had said 'usage: train.py' in its help and
    'train.py: error:' in its errors; train.py's name and the narrow U-Net
    are put back after."""
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)
    prog = 'wide_pilot.py train 1.5'
    with pytest.raises(SystemExit) as stop:
        wide_pilot.main(['train', '1.5', '--', '-h'])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith('usage: {} '.format(prog))
    with pytest.raises(SystemExit) as stop:
        wide_pilot.main(['train', '1.5', '--no-such-option'])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith('usage: {} '.format(prog))
    unet, name = network.UNet, train.PROG
    err = conftest.refusal(wide_pilot.main, prog,
                           ['train', '1.5', '--', '-t', str(tmp_path / 'none'),
                            '-o', str(tmp_path / 'out')], capsys)
    assert str(tmp_path / 'none') in err
    assert (network.UNet, train.PROG) == (unet, name) == (unet, 'train.py')


@pytest.mark.parametrize('argv', [['widen', 'two', 'in.model', 'out.model'],
                                  ['widen', '0.5', 'in.model', 'out.model'],
                                  ['train', 'nan', '--', '-h'],
                                  ['evaluate', 'inf', '--', '-h']])
def test_a_width_that_is_not_a_factor_of_1_or_more_is_refused_at_start(argv, monkeypatch,
                                                                        capsys):
    """A non-numeric WIDTH had ended in a traceback (ValueError from
    float()), and one under 1 in widen's (a negative count of copies); now
    one line naming WIDTH and its value, before any file is read."""
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)
    err = conftest.refusal(wide_pilot.main, 'wide_pilot.py', argv, capsys)
    assert 'WIDTH {}: '.format(argv[1]) in err
    assert network.UNet.channels == tuple(wide_pilot.BASE)
