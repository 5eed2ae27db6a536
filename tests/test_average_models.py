"""scripts/average_models.py: the weight mean of checkpoints, loadable as a model."""
import os
import sys

import chainer
import numpy as np
import pytest

import network

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'scripts'))
import average_models  # noqa: E402


def saved_unet(path, seed):
    np.random.seed(seed)
    unet = network.UNet()
    unet.norm1.avg_mean[:] = seed          # running statistics are averaged too
    chainer.serializers.save_npz(str(path), unet, compression=False)
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
    chainer.serializers.save_npz(compressed, network.UNet(input_power=0.5), compression=False)
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


def test_weights_give_each_model_its_share_and_can_walk_back(tmp_path, capsys):
    a, b = saved_unet(tmp_path / 'a', 1), saved_unet(tmp_path / 'b', 3)
    first, second = network.load_unet(a), network.load_unet(b)
    third = str(tmp_path / 'third.model')
    assert average_models.main([a, b, '--weights', '0.25', '0.75', '-o', third]) == 0
    assert 'shares 0.25, 0.75' in capsys.readouterr().out
    mixed = network.load_unet(third)
    np.testing.assert_allclose(mixed.conv1.W.array,
                               0.25 * first.conv1.W.array + 0.75 * second.conv1.W.array,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(mixed.norm1.avg_mean, 2.5)
    # the mean of a and b, with a's share taken back out, is b again
    half = str(tmp_path / 'half.model')
    assert average_models.main([a, b, '-o', half]) == 0
    back = str(tmp_path / 'back.model')
    assert average_models.main([half, a, '--weights', '2', '-1', '-o', back]) == 0
    np.testing.assert_allclose(network.load_unet(back).conv1.W.array, second.conv1.W.array,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('shares, words', [
    (['0.5'], '1 given for 2 models'),
    (['0.7', '0.7'], 'must be finite and sum to 1'),
    (['nan', '1'], 'must be finite and sum to 1'),
])
def test_bad_weights_are_one_line_and_write_nothing(shares, words, tmp_path, capsys):
    a, b = saved_unet(tmp_path / 'a', 1), saved_unet(tmp_path / 'b', 3)
    out = tmp_path / 'avg.model'
    assert average_models.main([a, b, '--weights'] + shares + ['-o', str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('average_models.py: error: --weights') and words in err
    assert '\n' not in err and not out.exists()


def test_extrapolating_to_a_negative_variance_is_refused(tmp_path, capsys):
    a, b = saved_unet(tmp_path / 'a', 1), saved_unet(tmp_path / 'b', 3)
    small = network.load_unet(b)
    small.norm2.avg_var[:] = 0.1            # a's variances are 1: 3 x 0.1 - 2 x 1 < 0
    chainer.serializers.save_npz(b, small, compression=False)
    out = tmp_path / 'far.model'
    assert average_models.main([b, a, '--weights', '3', '-2', '-o', str(out)]) == 1
    assert 'norm2/avg_var a negative variance' in capsys.readouterr().err
    assert not out.exists()


def test_a_zero_running_variance_is_averaged_as_it_is(tmp_path):
    # a channel that never varied is legitimate (the normalisation adds eps)
    a, b = saved_unet(tmp_path / 'a', 1), saved_unet(tmp_path / 'b', 3)
    for path in (a, b):
        unet = network.load_unet(path)
        unet.norm3.avg_var[0] = 0.0
        chainer.serializers.save_npz(path, unet, compression=False)
    out = str(tmp_path / 'avg.model')
    assert average_models.main([a, b, '-o', out]) == 0
    assert network.load_unet(out).norm3.avg_var[0] == 0.0
