"""A training loss on the waveform the listener hears (train.py --loss snr).

The masked mixture magnitude, given the mixture's phase, is turned back into
a waveform inside the Chainer graph (the inverse of ``util.stft``: inverse
real DFT, Hann window, overlap-add, divided by the window's squared sum) and
compared with the clean speech's waveform. The loss is a thresholded
signal-to-noise ratio in dB, as in mixture invariant training (Wisdom et
al., NeurIPS 2020)::

    10 log10(|s - y|^2 + tau |x|^2) - 10 log10(|s|^2 + tau |x|^2)

with ``s`` the speech, ``y`` the estimate and ``x`` the mixture, so that:
every example weighs the same whatever its level; an example of music alone
(``s`` = 0) asks for silence down to ``tau`` of the mixture's energy; and
speech alone stops pulling once the estimate is ``-10 log10(tau)`` dB
clean (the cap, train.py --snr-cap). The second term is a constant that makes the loss read as minus the
(capped) SNR.
"""
import compat  # noqa: F401  (before chainer: NumPy 2 / Python 3.12 shims)
import chainer
import chainer.functions as F
import librosa
import numpy as np

import const


class InverseSTFT:
    """``util.istft`` as Chainer operations on ``(batch, 513, frames)`` real
    and imaginary parts; gives ``(batch, (frames - 1) * H)`` samples, the
    length ``mixing.MixingDataset`` crops, so the centring pad is removed.
    Needs ``H == FFT_SIZE / 2`` (overlap-add of two half frames)."""

    def __init__(self, frames, xp=np):
        n, h = const.FFT_SIZE, const.H
        assert 2 * h == n, 'the overlap-add below assumes a hop of half a frame'
        window = librosa.filters.get_window('hann', n, fftbins=True)
        bins = np.arange(const.N_BINS)[:, None]
        angle = 2.0 * np.pi * bins * np.arange(n)[None, :] / n
        weight = np.full((const.N_BINS, 1), 2.0)
        weight[0] = weight[-1] = 1.0                # DC and Nyquist appear once
        self.cos = xp.asarray(weight * np.cos(angle) / n * window, dtype=np.float32)
        self.sin = xp.asarray(-weight * np.sin(angle) / n * window, dtype=np.float32)
        squared = np.zeros((frames + 1) * h)
        for frame in range(frames):
            squared[frame * h:frame * h + n] += window ** 2
        kept = squared[h:h + (frames - 1) * h]      # > 0.5 everywhere here
        self.inverse_envelope = xp.asarray(1.0 / kept, dtype=np.float32)
        self.frames = frames

    def __call__(self, real, imag):
        batch, bins, frames = real.shape
        assert bins == const.N_BINS and frames == self.frames
        h = const.H
        real = F.reshape(F.transpose(real, (0, 2, 1)), (batch * frames, bins))
        imag = F.reshape(F.transpose(imag, (0, 2, 1)), (batch * frames, bins))
        windowed = F.matmul(real, self.cos) + F.matmul(imag, self.sin)
        windowed = F.reshape(windowed, (batch, frames, 2, h))
        first, second = windowed[:, :, 0], windowed[:, :, 1]
        # Half-frame j of the output: the first half of frame j plus the
        # second half of frame j - 1; keep j = 1 .. frames - 1 (centring pad off).
        summed = first[:, 1:] + second[:, :-1]
        samples = F.reshape(summed, (batch, (frames - 1) * h))
        return samples * F.broadcast_to(self.inverse_envelope, samples.shape)


def masked_spectrum(mask, mixture):
    """Real and imaginary parts ``(batch, 513, frames)`` of the mask applied
    to the mixture's spectrum ``(batch, 2, 513, frames)``; ``mask`` is the
    U-Net's ``(batch, 1, 512, frames)``, the DC bin takes the lowest bin's
    mask as in ``util`` (separation)."""
    full = F.concat((mask[:, 0, :1], mask[:, 0]), axis=1)
    return full * mixture[:, 0], full * mixture[:, 1]


def energy(samples):
    """``(batch,)`` sum of squares of ``(batch, n)`` samples."""
    return F.sum(samples * samples, axis=1)


def snr_loss(estimate, speech, mixture, cap_db=const.SNR_LOSS_CAP_DB):
    """Mean over the batch of the thresholded SNR loss (module docstring), dB,
    with ``tau = 10 ** (-cap_db / 10)``.

    ``estimate``, ``speech`` and ``mixture`` are ``(batch, n)`` waveforms
    (``speech`` and ``mixture`` constants)."""
    tau = 10.0 ** (-cap_db / 10.0)
    xp = chainer.backend.get_array_module(mixture)
    floor = tau * energy(mixture).array + const.SNR_LOSS_EPS   # a silent example: no log(0)
    error = 10.0 * F.log10(energy(speech - estimate) + floor)
    reference = 10.0 * xp.log10(energy(speech).array + floor)
    return F.mean(error - reference)
