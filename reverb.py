"""Synthetic room reverberation: a voice heard across a room.

Most voices of the corpus are close to their microphone (telephone
prompts, audiobook readers, learners at a headset), while a podcast guest
in a living room, a lecture in a hall or a video's voice bring their room
with them. ``train.py --reverb SHARE`` convolves that share of the speech
crops with a random room response (``draw_room``, ``room_response``), before
any colouring (the room comes before the channel). The speech target is
the reverberant speech: the model separates the voice with its room; it
does not take the room away. ``scripts/channel_items.py --channel rooms``
puts fixed rooms on the speech of evaluation items the same way.

A room response (16 kHz, ``(samples,)``) is

* the direct sound, 1 at sample 0;
* after a pre-delay, a diffuse tail: Gaussian noise split into the bands
  of ``const.REVERB_BAND_EDGES_HZ``, each band decaying by 60 dB in its own
  reverberation time, the room's RT60 in the lowest band falling to
  ``const.REVERB_HIGH_RT60_SHARE`` of it in the highest (walls and air
  absorb high frequencies faster);
* the tail scaled so that its energy lies the direct-to-reverberant ratio
  (DRR, dB) below the direct sound's.
"""
import numpy as np
import scipy.fft

import const

DECAY_60_DB = np.log(1000.0)     # an amplitude falls 60 dB when its exponent reaches this


def draw_room(rng):
    """Random ``room_response`` settings: an RT60 (seconds, log-uniform in
    ``const.REVERB_RT60_S``), a DRR (dB, uniform in ``const.REVERB_DRR_DB``)
    and a pre-delay (seconds, uniform in ``const.REVERB_PREDELAY_S``)."""
    low, high = np.log(const.REVERB_RT60_S)
    return dict(rt60=float(np.exp(rng.uniform(low, high))),
                drr_db=float(rng.uniform(*const.REVERB_DRR_DB)),
                predelay=float(rng.uniform(*const.REVERB_PREDELAY_S)))


def room_response(rng, rt60, drr_db, predelay):
    """The impulse response of a room with reverberation time ``rt60``
    (seconds, lowest band), direct-to-reverberant ratio ``drr_db`` (dB) and
    ``predelay`` (seconds between the direct sound and the tail), its tail
    drawn from ``rng``: ``(samples,)`` float32, 1 at sample 0, as long as
    the pre-delay and the lowest band's decay by 60 dB."""
    start = int(round(predelay * const.SR))
    length = max(1, int(np.ceil(rt60 * const.SR)))
    # single precision (scipy.fft): three times as fast as NumPy's FFT, for
    # train.py's example loaders; the draw is the same double-precision one
    spectrum = scipy.fft.rfft(rng.standard_normal(length).astype(np.float32))
    freqs = scipy.fft.rfftfreq(length, 1.0 / const.SR)
    edges = const.REVERB_BAND_EDGES_HZ
    times = (np.arange(length) / const.SR).astype(np.float32)
    tail = np.zeros(length, np.float32)
    for band, share in enumerate(np.linspace(1.0, const.REVERB_HIGH_RT60_SHARE, len(edges) - 1)):
        inside = (freqs >= edges[band]) & (freqs < edges[band + 1])
        band_noise = scipy.fft.irfft(np.where(inside, spectrum, np.complex64(0.0)), length)
        tail += band_noise * np.exp(np.float32(-DECAY_60_DB / (rt60 * share)) * times)
    energy = float(np.sum(np.square(tail, dtype=np.float64)))
    if energy > 0.0:
        tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / energy)
    response = np.zeros(start + length, np.float32)
    response[0] = 1.0
    response[start:] += tail.astype(np.float32)
    return response


def random_response(rng):
    """A ``room_response`` of a room from ``draw_room``."""
    return room_response(rng, **draw_room(rng))


def reverberate(signal, response):
    """``signal`` (``(samples,)``) heard through ``response``: the causal
    convolution cut to the signal's length (the tail after its end is
    dropped; its first ``len(response) - 1`` samples lack the reverberation
    of what came before), float32."""
    size = len(signal) + len(response) - 1
    fft_size = scipy.fft.next_fast_len(max(size, 1), real=True)
    spectra = [scipy.fft.rfft(np.asarray(x, np.float32), fft_size) for x in (signal, response)]
    return scipy.fft.irfft(spectra[0] * spectra[1], fft_size)[:len(signal)].astype(np.float32)
