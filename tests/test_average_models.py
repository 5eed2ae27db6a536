"""scripts/average_models.py: the weight mean of checkpoints, loadable as a model."""
import os
import sys

import chainer
import numpy as np

import network

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'scripts'))
import average_models  # noqa: E402


def saved_unet(path, seed):
    np.random.seed(seed)
    unet = network.UNet()
    unet.norm1.avg_mean[:] = seed          # running statistics are averaged too
    chainer.serializers.save_npz(str(path), unet)
    return str(path)


def test_average_is_the_mean_of_weights_and_statistics(tmp_path):
    a, b = saved_unet(tmp_path / 'a', 1), saved_unet(tmp_path / 'b', 3)
    out = str(tmp_path / 'avg.model')
    assert average_models.main([a, b, '-o', out]) == 0
    mean = network.load_unet(out)
    first, second = network.load_unet(a), network.load_unet(b)
    np.testing.assert_allclose(mean.conv1.W.array,
                               (first.conv1.W.array + second.conv1.W.array) / 2, rtol=1e-6)
    np.testing.assert_allclose(mean.norm1.avg_mean, 2.0)


def test_existing_output_is_kept_without_overwrite(tmp_path, capsys):
    a = saved_unet(tmp_path / 'a', 1)
    out = tmp_path / 'avg.model'
    out.write_bytes(b'keep')
    assert average_models.main([a, a, '-o', str(out)]) == 1
    assert out.read_bytes() == b'keep'
    assert 'overwrite' in capsys.readouterr().err


def test_models_fed_different_inputs_are_not_averaged(tmp_path, capsys):
    linear = saved_unet(tmp_path / 'a', 1)
    compressed = str(tmp_path / 'c')
    chainer.serializers.save_npz(compressed, network.UNet(input_power=0.5))
    out = tmp_path / 'avg.model'
    assert average_models.main([linear, compressed, '-o', str(out)]) == 1
    assert 'input powers 0.5, 1' in capsys.readouterr().err
    assert not out.exists()
    assert average_models.main([compressed, compressed, '-o', str(out)]) == 0
    assert network.load_unet(str(out)).input_power == 0.5


def test_an_input_is_never_the_output_even_with_overwrite(tmp_path, capsys):
    a, b = saved_unet(tmp_path / 'a', 1), saved_unet(tmp_path / 'b', 3)
    before = open(b, 'rb').read()
    assert average_models.main([a, b, '-o', b, '--overwrite']) == 1
    assert '{}: the output is one of the inputs'.format(b) in capsys.readouterr().err
    assert open(b, 'rb').read() == before
