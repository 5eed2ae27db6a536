"""Faster CPU cores for Chainer's 2-D convolution and deconvolution.

Chainer 7.8.1 computes a convolution on the CPU as ``im2col`` followed by
``numpy.tensordot``. The columns come out as ``(N, C, kh, kw, out_h,
out_w)`` and tensordot contracts ``C, kh, kw``; to do that it first copies
the columns into ``(N, out_h, out_w, C * kh * kw)``, the largest array of
the layer, and its result comes out channels-last, so the next layers work
on a strided view. The deconvolution (and so every convolution's gradient
with respect to its input) and the gradient with respect to the weights
make the same kind of copy.

A batched matrix product needs none of them: ``W (out, C * kh * kw)``
times each sample's columns ``(C * kh * kw, out_h * out_w)`` gives
``(out, out_h * out_w)``, already channels-first. ``install()`` replaces
the three CPU cores by such products. They compute the same sums (to
float32 rounding: the batch's terms of a weight gradient are added in
another order) and fall back to Chainer's own code where iDeep is in use.
On the 2-core Xeon of docs/BENCHMARKS.md a training step of the U-Net
(8 patches) takes about a fifth less time; the GPU path is untouched.
"""
import numpy
from chainer.functions.connection import convolution_2d, deconvolution_2d
from chainer.utils import conv

# the cores replaced: (class, Chainer's own method)
_ORIGINAL = {}


def convolution_forward(self, x, W, b):
    """``y = W * x + b``: x ``(N, C, H, W)``, W ``(out, C, kh, kw)`` ->
    ``(N, out, out_h, out_w)``, C-contiguous."""
    if self._use_ideep:
        return _ORIGINAL['convolution'](self, x, W, b)
    out_channels, in_channels, kh, kw = W.shape
    col = conv.im2col_cpu(x, kh, kw, self.sy, self.sx, self.ph, self.pw,
                          cover_all=self.cover_all, dy=self.dy, dx=self.dx)
    n, out_h, out_w = col.shape[0], col.shape[4], col.shape[5]
    y = numpy.matmul(W.reshape(out_channels, -1),
                     col.reshape(n, in_channels * kh * kw, out_h * out_w))
    y = y.astype(x.dtype, copy=False).reshape(n, out_channels, out_h, out_w)
    if b is not None:
        y += b.reshape(1, out_channels, 1, 1)
    return y,


def weight_gradient(self, x, gy):
    """The gradient of a convolution's weights: x ``(N, C, H, W)``, gy
    ``(N, out, out_h, out_w)`` -> ``(out, C, kh, kw)``, each sample's
    product summed over the batch."""
    if self._use_ideep:
        return _ORIGINAL['weight_gradient'](self, x, gy)
    col = conv.im2col_cpu(x, self.kh, self.kw, self.sy, self.sx, self.ph, self.pw,
                          cover_all=self.cover_all, dy=self.dy, dx=self.dx)
    n, in_channels, kh, kw, out_h, out_w = col.shape
    out_channels = gy.shape[1]
    gy = numpy.ascontiguousarray(gy).reshape(n, out_channels, out_h * out_w)
    col = col.reshape(n, in_channels * kh * kw, out_h * out_w)
    gW = numpy.matmul(gy, col.transpose(0, 2, 1)).sum(axis=0)
    return gW.reshape(out_channels, in_channels, kh, kw).astype(self.W_dtype, copy=False),


def deconvolution_forward(self, x, W, b):
    """The transposed convolution: x ``(N, C, h, w)``, W ``(C, out, kh,
    kw)`` -> ``(N, out, outh, outw)``, the columns of each sample one
    matrix product, then ``col2im``."""
    if self._use_ideep:
        return _ORIGINAL['deconvolution'](self, x, W, b)
    in_channels, out_channels, kh, kw = W.shape
    n, _, h, w = x.shape
    col = numpy.matmul(W.reshape(in_channels, -1).T,
                       numpy.ascontiguousarray(x).reshape(n, in_channels, h * w))
    col = col.astype(x.dtype, copy=False).reshape(n, out_channels, kh, kw, h, w)
    y = conv.col2im_cpu(col, self.sy, self.sx, self.ph, self.pw, self.outh, self.outw,
                        dy=self.dy, dx=self.dx)
    if b is not None:
        y += b.reshape(1, b.size, 1, 1)
    return y,


_REPLACEMENTS = {
    'convolution': (convolution_2d.Convolution2DFunction, convolution_forward),
    'weight_gradient': (convolution_2d.Convolution2DGradW, weight_gradient),
    'deconvolution': (deconvolution_2d.Deconvolution2DFunction, deconvolution_forward),
}


def install():
    """Put the cores above in place of Chainer's (again: no change)."""
    for name, (cls, core) in _REPLACEMENTS.items():
        _ORIGINAL.setdefault(name, cls._forward_cpu_core)
        cls._forward_cpu_core = core


def uninstall():
    """Give Chainer its own cores back (tests compare the two)."""
    for name, (cls, _) in _REPLACEMENTS.items():
        if name in _ORIGINAL:
            cls._forward_cpu_core = _ORIGINAL[name]


def installed():
    """Whether ``install()``'s cores are in place."""
    return all(cls._forward_cpu_core is core for cls, core in _REPLACEMENTS.values())
