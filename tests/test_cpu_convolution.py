"""cpu_convolution.py: Chainer's CPU convolutions by batched matrix products
give what Chainer's own cores give, forward and backward, and the U-Net
trains to the same loss and gradients with either."""
import contextlib

import chainer
import chainer.functions as F
import numpy as np
import pytest

import cpu_convolution
import network


@contextlib.contextmanager
def chainers_own_cores():
    cpu_convolution.uninstall()
    try:
        yield
    finally:
        cpu_convolution.install()


def forward_and_gradients(op, x, W, b, gy):
    """``op``'s output and the gradients of ``sum(y * gy)`` with respect to
    x, W and b (b may be None)."""
    x, W = chainer.Variable(x.copy()), chainer.Variable(W.copy())
    b = None if b is None else chainer.Variable(b.copy())
    y = op(x, W, b)
    F.sum(y * gy).backward()
    return [y.array, x.grad, W.grad] + ([] if b is None else [b.grad])


def both_ways(op, x, W, b, seed=0):
    """``forward_and_gradients`` with the installed cores and with Chainer's."""
    with chainer.no_backprop_mode():
        shape = op(x, W, b).shape
    gy = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    fast = forward_and_gradients(op, x, W, b, gy)
    with chainers_own_cores():
        own = forward_and_gradients(op, x, W, b, gy)
    return fast, own


def inputs(seed, x_shape, w_shape, bias_size):
    """Random x, W (scaled down) and b (None for ``bias_size`` 0), float32."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    W = (rng.standard_normal(w_shape) * 0.2).astype(np.float32)
    b = rng.standard_normal(bias_size).astype(np.float32) if bias_size else None
    return x, W, b


def assert_same(fast, own):
    for a, b in zip(fast, own):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * float(np.abs(b).max()))


CASES = [   # (input shape, weight shape, stride, pad, extra options)
    ((2, 1, 64, 32), (16, 1, 5, 5), 2, 2, {}),              # the U-Net's first layer
    ((3, 16, 33, 17), (32, 16, 5, 5), 2, 2, {}),            # odd sizes
    ((2, 4, 9, 11), (6, 4, 3, 3), 1, 0, {}),                # stride 1, no padding
    ((2, 4, 9, 11), (6, 4, 3, 2), (2, 1), (1, 0), {'cover_all': True}),
    ((1, 3, 12, 12), (5, 3, 3, 3), 1, 2, {'dilate': 2}),
]


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('x_shape, w_shape, stride, pad, extra', CASES)
def test_convolution_matches_chainers_own(x_shape, w_shape, stride, pad, extra, bias):
    x, W, b = inputs(1, x_shape, w_shape, w_shape[0] if bias else 0)
    fast, own = both_ways(
        lambda x, W, b: F.convolution_2d(x, W, b, stride=stride, pad=pad, **extra), x, W, b)
    assert fast[0].flags.c_contiguous          # channels-first as it comes out
    assert_same(fast, own)


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('x_shape, w_shape, stride, pad, outsize', [
    ((2, 16, 32, 16), (16, 1, 5, 5), 2, 2, (64, 32)),       # the U-Net's last layer
    ((3, 32, 9, 5), (32, 16, 5, 5), 2, 2, (17, 9)),         # odd sizes
    ((2, 6, 7, 9), (6, 4, 3, 3), 1, 0, None),
    ((2, 6, 4, 5), (6, 4, 3, 2), (2, 3), (1, 0), None),
])
def test_deconvolution_matches_chainers_own(x_shape, w_shape, stride, pad, outsize, bias):
    x, W, b = inputs(2, x_shape, w_shape, w_shape[1] if bias else 0)
    fast, own = both_ways(
        lambda x, W, b: F.deconvolution_2d(x, W, b, stride=stride, pad=pad, outsize=outsize),
        x, W, b)
    assert_same(fast, own)


def test_the_unet_trains_alike_with_either():
    """One training step from the same weights: the loss, and every
    parameter's gradient as close to Chainer's own in float64 as Chainer's
    own in float32 is, or closer (summing each sample's product apart
    loses less than tensordot's one long sum)."""
    rng = np.random.default_rng(3)
    mix = rng.random((2, 1, 512, 128), dtype=np.float32)
    speech = mix * rng.random(mix.shape, dtype=np.float32)

    def step(dtype=np.float32):
        np.random.seed(0)           # the same initial weights and dropout masks
        with chainer.using_config('dtype', dtype):
            model = network.UNetTrainmodel(network.UNet())
        with chainer.using_config('train', True):
            loss = model(mix.astype(dtype), speech.astype(dtype))
        model.cleargrads()
        loss.backward()
        return [loss.array] + [param.grad for _, param in sorted(model.namedparams())]

    fast = step()
    with chainers_own_cores():
        own, exact = step(), step(np.float64)
    assert len(fast) == len(own) == len(exact) > 20
    np.testing.assert_allclose(fast[0], exact[0], rtol=1e-5)
    scale = max(float(np.abs(g).max()) for g in exact[1:])
    for a, b, ref in zip(fast[1:], own[1:], exact[1:]):
        size = float(np.abs(ref).max())
        if size < 1e-6 * scale:
            continue        # a bias before a normalisation: no gradient but rounding
        error_fast = float(np.abs(a - ref).max()) / size
        error_own = float(np.abs(b - ref).max()) / size
        assert error_fast <= max(2.0 * error_own, 1e-3)


def test_install_is_in_place_once_network_is_imported_and_can_be_undone():
    assert cpu_convolution.installed()
    cpu_convolution.install()                      # again: no change
    assert cpu_convolution.installed()
    with chainers_own_cores():
        assert not cpu_convolution.installed()
    assert cpu_convolution.installed()
