"""Speech in every channel of a multichannel recording.

The network separates the channels' mean. Its speech estimate ``S`` and the
mean ``X`` give an effective mask per STFT bin and frame,
``clip(|S| / |X|, 0, 1)`` (0 where the mean is silent), which every
channel's own STFT is put under. A voice in the centre and music spread
wide come back where they were; the channels' speech and music still add up
to each channel.
"""
import numpy as np

import const
import util


class ChannelSplit:
    """Turns the separator's 16 kHz ``(speech, music)`` blocks of the
    channels' mean into ``(samples, channels)`` blocks, one column a channel.

    ``channel_blocks``: the input at 16 kHz with its channels kept
    (``util.stream_audio(path, mix=False)``), ``n16`` samples in all, as
    many as the separator was given. ``push`` returns what every stream has
    made ready; with ``last`` the rest, ``n16`` samples in all.
    """

    def __init__(self, channel_blocks, n16, channels):
        self._blocks = iter(channel_blocks)
        self._blocks_done = False
        self._speech_frames = util.StreamingSTFT()
        self._mean_frames = util.StreamingSTFT()
        self._channel_frames = [util.StreamingSTFT() for _ in range(channels)]
        self._channel_speech = [util.StreamingISTFT(n16) for _ in range(channels)]
        self._masks = np.zeros((const.N_BINS, 0), np.float32)
        self._pending = [np.zeros((const.N_BINS, 0), np.complex64) for _ in range(channels)]
        self._mixture = [np.zeros((0, channels), np.float32)]
        self._speech = [np.zeros((0, channels), np.float32)]

    def push(self, speech, music, last=False):
        """``(speech, music)``, each ``(samples, channels)``, for the next
        blocks of the mean's estimates."""
        spectra = [self._speech_frames.push(speech), self._mean_frames.push(speech + music)]
        if last:
            spectra = [np.concatenate([frames, stft.finish()], axis=1) for frames, stft in
                       zip(spectra, (self._speech_frames, self._mean_frames))]
        self._masks = np.concatenate([self._masks, effective_mask(*spectra)], axis=1)
        self._read_channels(last)
        count = min(self._masks.shape[1], self._pending[0].shape[1])
        masks, self._masks = self._masks[:, :count], self._masks[:, count:]
        columns = []
        for c, istft in enumerate(self._channel_speech):
            frames, self._pending[c] = self._pending[c][:, :count], self._pending[c][:, count:]
            samples = istft.push(frames * masks)
            if last:
                samples = np.concatenate([samples, istft.finish()])
            columns.append(samples)
        self._speech.append(np.stack(columns, axis=1))
        ready = min(util.queued_samples(self._speech), util.queued_samples(self._mixture))
        speech = util.take_samples(self._speech, ready)
        return speech, util.take_samples(self._mixture, ready) - speech

    def _read_channels(self, last):
        """Read the channels until their frames cover the masks (all of them
        when ``last``), a block at a time."""
        while not self._blocks_done and (last or
                                         self._pending[0].shape[1] < self._masks.shape[1]):
            block = next(self._blocks, None)
            for c, stft in enumerate(self._channel_frames):
                frames = stft.push(block[:, c]) if block is not None else stft.finish()
                self._pending[c] = np.concatenate([self._pending[c], frames], axis=1)
            if block is None:
                self._blocks_done = True
            else:
                self._mixture.append(block)


def effective_mask(speech, mixture):
    """``clip(|speech| / |mixture|, 0, 1)``, both complex ``(bins, frames)``;
    0 where the mixture is 0. float32."""
    speech, mixture = np.abs(speech), np.abs(mixture)
    ratio = np.divide(speech, mixture, out=np.zeros_like(speech), where=mixture > 0)
    return np.clip(ratio, 0.0, 1.0).astype(np.float32)
