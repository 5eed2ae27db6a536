"""Full-band output: the separation's 16 kHz estimates completed with the
input's own band above it.

The network sees 16 kHz audio, so its speech ends below 8 kHz. Played back
at a higher rate, the mixture splits exactly into what the separation saw
(its 16 kHz version resampled up, ``M_up``) and what it did not (the input
minus that, ``D``: the band above about 7.3 kHz, where the resamplers'
filters roll off). The speech at the output rate is

    speech = S_up + g(t) * D

with ``S_up`` the 16 kHz speech estimate resampled up and ``g(t)`` the
speech's share of the band just below (``const.FULL_BAND_SHARE_HZ``): the
square root of the speech estimate's energy there over the mixture's, frame
by frame, interpolated between frame centres at the output rate. Below the
filters' edge ``D`` is (to about -67 dB at 4 to 7 kHz) nothing, so the
speech there is the 16 kHz estimate's. Sibilants and fricatives that
the mask passes bring their upper band with them; music the mask removes
takes its cymbals with it. The music is the mixture at the output rate minus
the speech, so the two still add up to the mixture.
"""
import numpy as np

import const
import util


class FullBand:
    """Turns the separator's 16 kHz ``(speech, music)`` blocks into blocks
    at ``rate`` Hz of the input's whole band.

    ``mixture_blocks``: the input as mono float32 blocks at ``input_rate``
    (``util.read_blocks``), or with ``channels`` as ``(samples, channels)``
    blocks, and so are then the estimates, which share the gain of their
    mean (``channels.ChannelSplit``) or, with ``gain_per_channel``, each
    have their own (each channel separated by itself); ``n_input``: the input's length in
    samples; ``n16``: the length of the 16 kHz stream the separator was
    given. ``push`` returns what every stream has made ready; the blocks
    add up to exactly ``resampled_length(n_input, input_rate, rate)``
    samples once ``push`` has been called with ``last``.
    """

    def __init__(self, mixture_blocks, input_rate, n_input, rate, n16, channels=None,
                 gain_per_channel=False):
        self.n_out = util.resampled_length(n_input, input_rate, rate)
        self._mixture_blocks = iter(mixture_blocks)
        self._mixture_rate = util.Resampler(input_rate, rate, n_input, channels)
        self._mixture_done = False
        self._speech_up = util.Resampler(const.SR, rate, n16, channels)
        self._seen_up = util.Resampler(const.SR, rate, n16, channels)
        for resampler in (self._speech_up, self._seen_up):
            resampler.n_out = self.n_out    # a sample off at most: follow the input
        self._shares = [BandShare(self.n_out, rate)
                        for _ in range(channels if channels and gain_per_channel else 1)]
        sample = () if channels is None else (channels,)
        self._queues = {name: [np.zeros((0,) + sample, np.float32)]
                        for name in ('mixture', 'speech', 'seen')}
        self._queues['gain'] = []

    def push(self, speech, music, last=False):
        """``(speech, music)`` at ``rate`` Hz for the next 16 kHz blocks."""
        seen = speech + music
        if seen.ndim == 1:
            gain = self._shares[0].push(speech, seen, last)
        elif len(self._shares) == 1:        # channels: the share of their mean
            gain = self._shares[0].push(speech.mean(axis=1), seen.mean(axis=1), last)
        else:                               # each channel its own share
            gain = np.stack([share.push(speech[:, c], seen[:, c], last)
                             for c, share in enumerate(self._shares)], axis=1)
        self._queues['gain'].append(gain)
        for name, resampler, block in (('speech', self._speech_up, speech),
                                       ('seen', self._seen_up, seen)):
            out = resampler.process(block)
            if last:
                out = np.concatenate([out, resampler.finish()])
            self._queues[name].append(out)
        ready = min(util.queued_samples(self._queues[name])
                    for name in ('speech', 'seen', 'gain'))
        self._read_mixture(ready, last)
        ready = min(ready, util.queued_samples(self._queues['mixture']))
        mixture, speech_up, seen_up, gain = (util.take_samples(self._queues[name], ready)
                                             for name in ('mixture', 'speech', 'seen', 'gain'))
        if mixture.ndim > gain.ndim:
            gain = gain[:, np.newaxis]
        full = speech_up + gain * (mixture - seen_up)
        return full, mixture - full

    def _read_mixture(self, wanted, last):
        """Read the input until ``wanted`` samples at ``rate`` are queued
        (all of it when ``last``), a block at a time."""
        queue = self._queues['mixture']
        while not self._mixture_done and (last or util.queued_samples(queue) < wanted):
            block = next(self._mixture_blocks, None)
            if block is None:
                queue.append(self._mixture_rate.finish())
                self._mixture_done = True
            else:
                queue.append(self._mixture_rate.process(block))


class BandShare:
    """The speech's share of ``const.FULL_BAND_SHARE_HZ`` as a gain per
    sample at ``rate`` Hz: ``sqrt(sum |S|^2 / sum |X|^2)`` over that band's
    bins in each 16 kHz STFT frame (0 where the mixture is silent there),
    clipped to [0, 1] and interpolated linearly between frame centres
    (frame k is centred on 16 kHz sample k * H, at k * H / 16000 s), held
    after the last. ``push`` takes 16 kHz speech and mixture samples and
    returns the gains up to the newest frame centre; with ``last`` the
    rest, so that the total is ``n_samples``. Interpolated at the output
    rate, not resampled: a resampling filter would ring at the ends."""

    def __init__(self, n_samples, rate=const.SR):
        self.n_samples = n_samples
        self._step = const.H * rate / const.SR      # output samples between frame centres
        self._speech = util.StreamingSTFT()
        self._mixture = util.StreamingSTFT()
        low, high = const.FULL_BAND_SHARE_HZ
        bin_hz = const.SR / const.FFT_SIZE
        self._bins = slice(int(np.ceil(low / bin_hz)), int(np.floor(high / bin_hz)) + 1)
        self._frames = 0                # frames whose share is known
        self._previous = None           # the share of the last of them
        self._emitted = 0

    def push(self, speech, mixture, last=False):
        speech_frames = self._speech.push(speech)
        mixture_frames = self._mixture.push(mixture)
        if last:
            speech_frames = np.concatenate([speech_frames, self._speech.finish()], axis=1)
            mixture_frames = np.concatenate([mixture_frames, self._mixture.finish()], axis=1)
        shares = frame_shares(speech_frames[self._bins], mixture_frames[self._bins])
        out = self._interpolate(shares)
        if last:
            tail = self.n_samples - self._emitted
            held = self._previous if self._previous is not None else 0.0
            out = np.concatenate([out, np.full(max(0, tail), held, np.float32)])
            self._emitted += max(0, tail)
        return out

    def _interpolate(self, shares):
        """Samples from the last one given up to the newest frame's centre."""
        if not len(shares):
            return np.zeros(0, np.float32)
        first = self._frames
        self._frames += len(shares)
        if self._previous is not None:
            shares = np.concatenate([[self._previous], shares])
            first -= 1
        self._previous = float(shares[-1])
        centres = (first + np.arange(len(shares))) * self._step
        end = min(int(np.floor(centres[-1])) + 1, self.n_samples)
        samples = np.arange(self._emitted, end)
        self._emitted = max(self._emitted, end)
        return np.interp(samples, centres, shares).astype(np.float32)


def frame_shares(speech, mixture):
    """``(frames,)`` share of ``speech`` in ``mixture``, both ``(bins,
    frames)`` complex: ``sqrt(sum |S|^2 / sum |X|^2)`` per frame, clipped
    to [0, 1]; 0 where the mixture's energy there is 0."""
    speech_energy = np.sum(np.abs(speech) ** 2, axis=0)
    mixture_energy = np.sum(np.abs(mixture) ** 2, axis=0)
    ratio = np.divide(speech_energy, mixture_energy, out=np.zeros_like(speech_energy),
                      where=mixture_energy > 0)
    return np.sqrt(np.clip(ratio, 0.0, 1.0))
