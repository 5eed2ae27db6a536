"""scripts/view_experiments.py VIEWS=model: the two models' masks averaged."""
import os
import sys

import chainer
import numpy as np

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import make_separate  # noqa: E402
import network  # noqa: E402
import view_experiments  # noqa: E402


def test_two_model_view_is_the_mean_of_the_two_masks(model_path, tmp_path):
    np.random.seed(5)
    other_path = str(tmp_path / 'other.model')
    chainer.serializers.save_npz(other_path, network.UNet(input_power=0.5), compression=False)
    first, second = network.load_unet(model_path), network.load_unet(other_path)
    cpu = chainer.get_device('@numpy')
    patches = np.abs(np.random.RandomState(2).standard_normal((2, 1, 512, 64))).astype(np.float32)

    both = view_experiments.with_other_model(other_path)(first, cpu)(patches)
    one = make_separate.network_mask_fn(first, cpu)(patches)
    two = make_separate.network_mask_fn(second, cpu)(patches)
    assert np.abs(one - two).max() > 1e-3          # two models that differ
    np.testing.assert_allclose(both, (one + two) / 2, atol=1e-6)


def test_reversed_view_averages_the_mask_of_the_patch_played_backwards():
    patches = np.random.RandomState(3).rand(2, 1, 8, 5).astype(np.float32)
    causal = lambda p: np.cumsum(p, axis=-1) / np.arange(1, p.shape[-1] + 1)   # running mean in time
    both = view_experiments.reversed_in_time(causal)(patches)
    backwards = np.cumsum(patches[..., ::-1], axis=-1)[..., ::-1] / np.arange(5, 0, -1)
    np.testing.assert_allclose(both, (causal(patches) + backwards) / 2, rtol=1e-6)
    assert not np.allclose(both, causal(patches))       # the backward view changed the mask
