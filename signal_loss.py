"""Training losses on the waveform the listener hears (train.py --loss snr,
snr+sisdr).

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
clean (the cap, train.py --snr-cap). The second term is a constant that
makes the loss read as minus the (capped) SNR. ``snr_si_sdr_loss`` averages
it with a scale-invariant SDR loss, which judges an estimate's shape at any
level (see there).
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
    return F.mean(snr_losses(estimate, speech, mixture, cap_db))


def snr_losses(estimate, speech, mixture, cap_db=const.SNR_LOSS_CAP_DB):
    """``(batch,)`` thresholded SNR losses, dB (``snr_loss`` before the mean)."""
    tau = 10.0 ** (-cap_db / 10.0)
    xp = chainer.backend.get_array_module(mixture)
    floor = tau * energy(mixture).array + const.SNR_LOSS_EPS   # a silent example: no log(0)
    error = 10.0 * F.log10(energy(speech - estimate) + floor)
    reference = 10.0 * xp.log10(energy(speech).array + floor)
    return error - reference


def si_sdr_losses(estimate, speech, cap_db=const.SNR_LOSS_CAP_DB):
    """``(batch,)`` minus the scale-invariant SDR of each estimate, dB, capped
    at ``cap_db``: the speech scaled to fit the estimate best, ``t = a s``
    with ``a = <y, s> / |s|^2``, against what is left, ``y - t``::

        10 log10(|y - t|^2 + tau |t|^2) - 10 log10(|t|^2 + tau |t|^2)

    An estimate turned down keeps its figure. Undefined without speech: 0
    where ``speech`` is silent (music alone)."""
    tau = 10.0 ** (-cap_db / 10.0)
    xp = chainer.backend.get_array_module(speech)
    speech_energy = energy(speech).array
    voiced = speech_energy > const.SNR_LOSS_EPS
    scale = F.sum(estimate * speech, axis=1) / xp.maximum(speech_energy, const.SNR_LOSS_EPS)
    target = F.broadcast_to(F.expand_dims(scale, 1), speech.shape) * speech
    target_energy = energy(target) + const.SNR_LOSS_EPS
    losses = (10.0 * F.log10(energy(estimate - target) + tau * target_energy)
              - 10.0 * F.log10((1.0 + tau) * target_energy))
    return F.where(voiced, losses, xp.zeros_like(losses.array))


def snr_si_sdr_loss(estimate, speech, mixture, cap_db=const.SNR_LOSS_CAP_DB):
    """Mean over the batch of the thresholded SNR loss and, for examples with
    speech, the capped scale-invariant SDR loss averaged with it (dB;
    train.py --loss snr+sisdr).

    With the SNR alone, a network trained from random weights settled on
    near-silence for loud music (-42 dB on a -5 dB validation mixture: an
    SNR of 0 dB, 5 dB above the mixture's, but an SI-SDR of -27 dB). The
    scale-invariant term scores an estimate by its shape whatever its
    level, and as a ratio its gradient grows as the estimate gets quieter,
    so a mask driven towards zero is still pulled towards the speech; the
    SNR term keeps the level honest and alone scores music alone."""
    return averaged_with_si_sdr(snr_losses(estimate, speech, mixture, cap_db),
                                estimate, speech, cap_db)


def averaged_with_si_sdr(snr, estimate, speech, cap_db=const.SNR_LOSS_CAP_DB):
    """``snr_si_sdr_loss`` from the ``(batch,)`` SNR losses ``snr`` already
    taken of ``estimate`` (``snr_losses``)."""
    si_sdr = si_sdr_losses(estimate, speech, cap_db)
    voiced = energy(speech).array > const.SNR_LOSS_EPS
    return F.mean(F.where(voiced, 0.5 * (snr + si_sdr), snr))
