"""The U-Net keeps upstream's link names, shapes and npz layout."""
import chainer
import numpy as np
import pytest

import network

UPSTREAM_KEYS = (
    ['conv{}/{}'.format(i, p) for i in range(1, 7) for p in ('W', 'b')]
    + ['deconv{}/{}'.format(i, p) for i in range(1, 7) for p in ('W', 'b')]
    + ['{}{}/{}'.format(name, i, p)
       for name, count in (('norm', 6), ('denorm', 5)) for i in range(1, count + 1)
       for p in ('gamma', 'beta', 'avg_mean', 'avg_var', 'N')]
)


def test_link_names_are_upstreams():
    names = {name for name, _ in network.UNet().namedlinks(skipself=True)}
    expected = {'/conv{}'.format(i) for i in range(1, 7)} | \
        {'/norm{}'.format(i) for i in range(1, 7)} | \
        {'/deconv{}'.format(i) for i in range(1, 7)} | \
        {'/denorm{}'.format(i) for i in range(1, 6)}
    assert names == expected


def test_npz_key_set_equals_upstream_and_round_trips(tmp_path):
    unet = network.UNet()
    path = str(tmp_path / 'unet.model')
    chainer.serializers.save_npz(path, unet)
    with np.load(path) as data:
        assert set(data.files) == set(UPSTREAM_KEYS)
        assert len(UPSTREAM_KEYS) == 79
    loaded = network.load_unet(path)
    for (name, a), (_, b) in zip(sorted(unet.namedparams()), sorted(loaded.namedparams())):
        np.testing.assert_array_equal(a.array, b.array, err_msg=name)


def test_loads_trainer_snapshot_layout(tmp_path):
    unet = network.UNet()
    unet.conv1.W.array[...] = 0.125
    path = str(tmp_path / 'snap')
    arrays = {'updater/model:main/unet/' + k: v for k, v in _npz_dict(unet).items()}
    np.savez(path, **arrays)
    loaded = network.load_unet(path + '.npz')
    assert np.all(loaded.conv1.W.array == 0.125)


def _npz_dict(link):
    serializer = chainer.serializers.DictionarySerializer()
    serializer.save(link)
    return serializer.target


@pytest.mark.parametrize('frames', [64, 128])
def test_mask_shape_and_range(frames):
    unet = network.UNet()
    x = np.random.rand(2, 1, 512, frames).astype(np.float32)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        mask = unet(x).array
    assert mask.shape == x.shape
    assert mask.min() >= 0.0 and mask.max() <= 1.0


def test_training_loss_is_l1_of_masked_mix():
    unet = network.UNet()
    model = network.UNetTrainmodel(unet)
    mix = np.random.rand(2, 1, 512, 64).astype(np.float32)
    speech = np.random.rand(2, 1, 512, 64).astype(np.float32)
    reporter = chainer.Reporter()
    reporter.add_observer('main', model)
    observation = {}
    with chainer.using_config('train', False), reporter.scope(observation):
        loss = model(mix, speech).array
        mask = unet(mix).array
    assert np.isclose(loss, np.mean(np.abs(mix * mask - speech)), rtol=1e-5)
    assert np.isclose(float(observation['main/loss'].array), loss)


def test_dropout_ratio_is_a_setting_not_a_parameter(tmp_path):
    # --dropout 0 makes training-mode passes repeat exactly; upstream's 0.5
    # drops units at random; the model file is the same either way
    x = np.random.rand(2, 1, 512, 64).astype(np.float32)
    plain, upstream = network.UNet(dropout=0.0), network.UNet()
    upstream.copyparams(plain)
    with chainer.using_config('train', True), chainer.no_backprop_mode():
        np.testing.assert_array_equal(plain(x).array, plain(x).array)
        assert not np.array_equal(upstream(x).array, upstream(x).array)
    chainer.serializers.save_npz(str(tmp_path / 'plain'), plain)
    chainer.serializers.save_npz(str(tmp_path / 'upstream'), upstream)
    with np.load(str(tmp_path / 'plain')) as a, np.load(str(tmp_path / 'upstream')) as b:
        assert sorted(a.files) == sorted(b.files) == sorted(UPSTREAM_KEYS)


def test_input_power_compresses_what_the_network_sees():
    np.random.seed(0)
    linear = network.UNet()
    compressed = network.UNet(input_power=0.5)
    compressed.copyparams(linear)
    x = np.random.rand(1, 1, 512, 64).astype(np.float32) ** 4
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        np.testing.assert_allclose(compressed(x).array, linear(np.sqrt(x)).array,
                                   rtol=1e-5, atol=1e-6)
        assert np.abs(compressed(x).array - linear(x).array).max() > 1e-3


def test_input_power_travels_in_the_model_file_and_only_when_not_linear(tmp_path):
    unet = network.UNet(input_power=0.5)
    path = str(tmp_path / 'compressed.model')
    chainer.serializers.save_npz(path, unet)
    with np.load(path) as data:
        assert set(data.files) == set(UPSTREAM_KEYS) | {network.INPUT_POWER_KEY}
    assert network.load_unet(path).input_power == 0.5
    linear = str(tmp_path / 'linear.model')            # upstream's layout: linear
    chainer.serializers.save_npz(linear, network.UNet())
    assert network.load_unet(linear).input_power == 1.0


def test_input_power_loads_from_a_trainer_snapshot(tmp_path):
    arrays = {'updater/model:main/unet/' + k: v
              for k, v in _npz_dict(network.UNet(input_power=0.25)).items()}
    np.savez(str(tmp_path / 'snap'), **arrays)
    assert network.load_unet(str(tmp_path / 'snap.npz')).input_power == 0.25


@pytest.mark.parametrize('power', [0.0, -0.5, 2.0, float('nan')])
def test_a_file_with_an_impossible_input_power_is_refused(tmp_path, power):
    arrays = _npz_dict(network.UNet())
    arrays[network.INPUT_POWER_KEY] = np.float64(power)
    path = str(tmp_path / 'odd.npz')
    np.savez(path, **arrays)
    with pytest.raises(network.ModelError, match='odd.npz: input_power'):
        network.load_unet(path)


def test_a_feed_changes_what_the_network_sees_not_what_the_mask_multiplies():
    unet = network.UNet()
    model = network.UNetTrainmodel(unet, feed=lambda patches: 4.0 * patches ** 2)
    mix = np.random.rand(2, 1, 512, 64).astype(np.float32)
    speech = np.random.rand(2, 1, 512, 64).astype(np.float32)
    with chainer.using_config('train', False):
        loss = model(mix, speech).array
        fed_mask = unet(4.0 * mix ** 2).array
        plain_mask = unet(mix).array
    assert not np.allclose(fed_mask, plain_mask)
    assert np.isclose(loss, np.mean(np.abs(mix * fed_mask - speech)), rtol=1e-5)
    assert not np.isclose(loss, np.mean(np.abs(mix * plain_mask - speech)), rtol=1e-5)
