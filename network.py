"""The U-Net of Jansson et al. (ISMIR 2017) and its training loss.

Link names (conv1..6, norm1..6, deconv1..6, denorm1..5) are those of
UNet-VocalSeparation-Chainer, so ``chainer.serializers.load_npz`` reads an
upstream ``unet.model`` and the ``model_N`` files its train.py wrote.
"""
import zipfile
import zlib

import compat  # noqa: F401  (before chainer: NumPy 2 / Python 3.12 shims)
import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np
from chainer import reporter

import const
import cpu_convolution
import signal_loss

# Chainer's CPU convolutions without tensordot's copies (cpu_convolution.py):
# the same sums, a training step about a fifth faster; the GPU is untouched.
cpu_convolution.install()


INPUT_POWER_KEY = 'input_power'   # a model file's npz key of UNet.input_power


class ModelError(Exception):
    """A model file that cannot be loaded; the message names the file."""


class UNet(chainer.Chain):
    """Magnitude in, soft mask out.

    Input ``(batch, 1, 512, frames)`` float32 magnitudes without the DC bin,
    ``frames`` a multiple of 64; output a mask in [0, 1] of the same shape.
    ``dropout``: the ratio dropped on the first three decoder layers while
    training (upstream 0.5); not a parameter, so model files do not hold it.
    ``input_power``: the magnitudes are raised to it before ``conv1`` (1:
    linear, as upstream; below 1 compresses them, ``train.py
    --input-power``); the mask still multiplies the linear magnitudes. A
    model file holds it (key ``input_power``) only when it is not 1, so a
    linear model's file has upstream's keys exactly, and upstream's files
    load as linear.
    """

    # Feature channels at each encoder level (upstream's); a subclass with
    # other counts keeps the link names (scripts/wide_pilot.py)
    channels = (16, 32, 64, 128, 256, 512)

    def __init__(self, dropout=const.DROPOUT, input_power=1.0):
        super().__init__()
        self.dropout = dropout
        self.input_power = float(input_power)
        c = self.channels
        with self.init_scope():
            # made in upstream's order, so a seeded initialisation draws the same weights
            for k in range(1, 7):       # encoder k: level k - 1 (the input: 1 channel) down to k
                setattr(self, 'conv%d' % k,
                        L.Convolution2D(1 if k == 1 else c[k - 2], c[k - 1], 4, 2, 1))
                setattr(self, 'norm%d' % k, L.BatchNormalization(c[k - 1]))
            for k in range(1, 7):       # decoder k: its input is (k > 1) concatenated with a skip
                inputs = c[5] if k == 1 else 2 * c[6 - k]
                setattr(self, 'deconv%d' % k,
                        L.Deconvolution2D(inputs, c[5 - k] if k < 6 else 1, 4, 2, 1))
                if k < 6:
                    setattr(self, 'denorm%d' % k, L.BatchNormalization(c[5 - k]))

    def serialize(self, serializer):
        super().serialize(serializer)
        if not isinstance(serializer, chainer.serializer.Deserializer):
            if self.input_power != 1.0:
                serializer(INPUT_POWER_KEY, self.input_power)
            return
        try:
            self.input_power = float(serializer(INPUT_POWER_KEY, 1.0))
        except KeyError:                  # upstream's and every linear model's file
            self.input_power = 1.0

    def forward(self, x):
        if self.input_power != 1.0:       # the input needs no gradient: compress its array
            magnitude = x.array if isinstance(x, chainer.Variable) else x
            x = self.xp.power(magnitude, self.input_power, dtype=magnitude.dtype)
        h1 = F.leaky_relu(self.norm1(self.conv1(x)))
        h2 = F.leaky_relu(self.norm2(self.conv2(h1)))
        h3 = F.leaky_relu(self.norm3(self.conv3(h2)))
        h4 = F.leaky_relu(self.norm4(self.conv4(h3)))
        h5 = F.leaky_relu(self.norm5(self.conv5(h4)))
        h6 = F.leaky_relu(self.norm6(self.conv6(h5)))
        dh = F.relu(F.dropout(self.denorm1(self.deconv1(h6)), self.dropout))
        dh = F.relu(F.dropout(self.denorm2(self.deconv2(F.concat((dh, h5)))), self.dropout))
        dh = F.relu(F.dropout(self.denorm3(self.deconv3(F.concat((dh, h4)))), self.dropout))
        dh = F.relu(self.denorm4(self.deconv4(F.concat((dh, h3)))))
        dh = F.relu(self.denorm5(self.deconv5(F.concat((dh, h2)))))
        return F.sigmoid(self.deconv6(F.concat((dh, h1))))


class UNetTrainmodel(chainer.Chain):
    """Training wrapper: the U-Net and its loss.

    Called with ``(mix, speech)``, both ``(batch, 1, 512, frames)``; ``speech``
    is the speech magnitude or its phase-sensitive part (train.py --target,
    whichever the data loader passes): it minimises the mean absolute error
    between ``mix * mask`` and ``speech`` (upstream's loss). Called with the
    mixture's complex spectrum too, ``(batch, 2, 513, frames)`` real and
    imaginary parts, and the speech and mixture waveforms, ``(batch, 2,
    (frames - 1) * H)`` (train.py --loss snr), it minimises
    ``signal_loss.snr_loss`` on the masked mixture's waveform instead, capped
    at ``snr_cap_db`` (with ``scale_invariant``, ``signal_loss.snr_si_sdr_loss``,
    the SNR averaged with the scale-invariant SDR: train.py --loss snr+sisdr).

    ``feed``, when given, maps the mixture patches (NumPy, as drawn) to what
    the network sees (``train.py --feed separation``:
    ``make_separate.fed_as_separation_feeds``); the mask still multiplies the
    mixture as drawn, in the L1 and the waveform losses alike.

    Reports ``loss``, the L1 (so ``main/loss`` and ``validation/main/loss``
    in the log stay comparable whatever is minimised), and with the waveforms
    ``snr``, minus the SNR loss (dB, higher is better, whichever waveform loss
    is minimised).
    """

    def __init__(self, unet, snr_cap_db=const.SNR_LOSS_CAP_DB, scale_invariant=False,
                 feed=None):
        super().__init__()
        self.snr_cap_db = snr_cap_db
        self.feed = feed
        self.scale_invariant = scale_invariant
        self._inverse = {}
        with self.init_scope():
            self.unet = unet

    def forward(self, mix, speech, mixture_spectrum=None, waveforms=None):
        mask = self.unet(self.network_input(mix))
        l1 = F.mean_absolute_error(mix * mask, speech)
        reporter.report({'loss': l1}, self)
        if mixture_spectrum is None:
            return l1
        inverse = self.inverse_stft(mix.shape[-1])
        estimate = inverse(*signal_loss.masked_spectrum(mask, mixture_spectrum))
        speech_wave, mixture_wave = waveforms[:, 0], waveforms[:, 1]
        snr = signal_loss.snr_losses(estimate, speech_wave, mixture_wave, self.snr_cap_db)
        snr_loss = F.mean(snr)
        reporter.report({'snr': -snr_loss}, self)
        if not self.scale_invariant:
            return snr_loss
        return signal_loss.averaged_with_si_sdr(snr, estimate, speech_wave, self.snr_cap_db)

    def network_input(self, mix):
        """``mix (batch, 1, 512, frames)`` through ``feed`` (on the host), on
        this model's device; ``mix`` itself without one."""
        if self.feed is None:
            return mix
        array = mix.array if isinstance(mix, chainer.Variable) else mix
        fed = self.feed(chainer.backend.CpuDevice().send(array))
        return self.device.send(np.asarray(fed, dtype=array.dtype))

    def inverse_stft(self, frames):
        """A ``signal_loss.InverseSTFT`` for ``frames``, on this model's device."""
        if frames not in self._inverse:
            self._inverse[frames] = signal_loss.InverseSTFT(frames, self.xp)
        return self._inverse[frames]


def expected_keys():
    """The npz keys of a saved ``UNet`` (``'conv1/W'``, ``'norm1/avg_mean'``...)."""
    return {name.lstrip('/') for name, _ in UNet().namedparams()} | \
        {'{}/{}'.format(link, stat) for link in norm_names()
         for stat in ('avg_mean', 'avg_var', 'N')}


def norm_names():
    """The names of the eleven batch-normalisation links (norm1..6, denorm1..5)."""
    return ['norm{}'.format(i) for i in range(1, 7)] + \
        ['denorm{}'.format(i) for i in range(1, 6)]


# Where a U-Net's weights sit inside files other than a bare model.
_PREFIXES = ('', 'updater/model:main/unet/', 'unet/')


def load_unet(path):
    """A ``UNet`` with the weights of ``path``.

    ``path`` is a bare model (``unet.model``, ``result/model_N``) or a
    trainer snapshot (``result/snapshot_iter_N``). Raises ``ModelError``
    naming the file when it is missing, unreadable, not an npz, truncated,
    holds another network or arrays that are not real numbers.
    """
    try:
        data = np.load(path)
        if not hasattr(data, 'files'):       # a bare .npy array, not an npz
            raise ValueError(path)
        with data:
            keys = set(data.files)
    except FileNotFoundError:
        raise ModelError('{}: model file not found'.format(path)) from None
    except IsADirectoryError:
        raise ModelError('{}: is a folder, expected a model file'.format(path)) from None
    except PermissionError:
        raise ModelError('{}: cannot read (permission denied)'.format(path)) from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError):
        raise ModelError('{}: not a Chainer npz model, or a truncated one (expected '
                         'the U-Net weights saved by train.py)'.format(path)) from None
    wanted = expected_keys()
    for prefix in _PREFIXES:
        if {prefix + k for k in wanted} <= keys:
            break
    else:
        raise ModelError('{}: holds another network, not this U-Net '
                         '(no conv1..conv6 / deconv1..deconv6 weights of the '
                         'expected names)'.format(path))
    unet = UNet()
    try:
        chainer.serializers.load_npz(path, unet, path=prefix)
    except TypeError as err:        # complex or text arrays: no cast to float32
        raise ModelError('{}: holds arrays that are not real numbers ({})'.format(
            path, str(err).splitlines()[0][:120])) from None
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise ModelError('{}: damaged or of another shape ({})'.format(
            path, str(err).splitlines()[0][:120])) from None
    arrays = [p.array for p in unet.params()] + [
        getattr(getattr(unet, link), stat) for link in norm_names()
        for stat in ('avg_mean', 'avg_var')]
    if not (np.isfinite(unet.input_power) and 0 < unet.input_power <= 1):
        raise ModelError('{}: input_power {} is not a compression of the magnitudes '
                         '(expected above 0, at most 1)'.format(path, unet.input_power))
    if not all(np.all(np.isfinite(a)) for a in arrays):
        raise ModelError('{}: holds NaN or Inf weights (saved from a diverged '
                         'training run?)'.format(path))
    return unet
