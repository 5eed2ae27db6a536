"""Random spectral colouring: a crop heard through another channel.

Every speech source of the corpus was recorded its own way (telephone
prompts cut at 3.4 or 7 kHz, audiobook readers close to a microphone,
children's and learners' recordings), and unseen users bring other rooms,
microphones and equalisers. A mask that has learnt "this band, this tilt is
speech" fails on a voice with another. ``train.py --colour SHARE`` passes
that share of the speech crops, and independently of the music crops,
through a random zero-phase filter (``mixing.py``):

* a spectral tilt about ``const.COLOUR_PIVOT_HZ``, up to
  ``const.COLOUR_TILT_DB`` per octave either way (bright or dull);
* up to ``const.COLOUR_BANDS`` bell-shaped boosts or cuts (a resonance, a
  presence peak, a missing body);
* for a share of the coloured crops a band limit, a high-pass and a
  low-pass edge as telephone lines and old recordings have.

``train.py --colour-mix SHARE`` instead passes that share of the examples
whole, speech and music alike, through one such filter (``colour_alike``),
as a mixture heard through one channel; ``scripts/channel_items.py`` does
the same with fixed filters to evaluation items.

The speech target is the coloured speech: the model learns to separate
speech whatever the channel, not to undo the channel.
"""
import numpy as np
import scipy.fft

import const


def log_uniform(rng, low, high):
    """A value drawn evenly on a log scale between ``low`` and ``high`` (> 0)."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def gain_curve_db(rng, freqs):
    """A random gain, dB, at each of ``freqs`` (Hz, ``(bins,)``):
    ``curve_db`` with settings from ``draw_curve``."""
    return curve_db(freqs, **draw_curve(rng))


def draw_curve(rng):
    """Random ``curve_db`` settings: a tilt, up to ``const.COLOUR_BANDS``
    bell-shaped bands and, for ``const.COLOUR_BAND_LIMIT`` of them, a band
    limit."""
    tilt = rng.uniform(-const.COLOUR_TILT_DB, const.COLOUR_TILT_DB)
    bands = [(log_uniform(rng, *const.COLOUR_BAND_HZ), rng.uniform(*const.COLOUR_BAND_OCTAVES),
              rng.uniform(*const.COLOUR_BAND_GAIN_DB))
             for _ in range(rng.integers(0, const.COLOUR_BANDS + 1))]
    band_limit = None
    if rng.random() < const.COLOUR_BAND_LIMIT:
        band_limit = (log_uniform(rng, *const.COLOUR_HIGH_PASS_HZ),
                      log_uniform(rng, *const.COLOUR_LOW_PASS_HZ))
    return dict(tilt=tilt, bands=bands, band_limit=band_limit)


def curve_db(freqs, tilt=0.0, bands=(), band_limit=None):
    """A gain, dB, at each of ``freqs`` (Hz, ``(bins,)``): ``tilt`` dB per
    octave about ``const.COLOUR_PIVOT_HZ`` (flat outside
    ``const.COLOUR_TILT_SPAN_HZ``), plus a bell per ``(centre Hz, width
    octaves, gain dB)`` of ``bands`` (the width two standard deviations),
    less ``const.COLOUR_EDGE_DB_PER_OCTAVE`` per octave outside
    ``band_limit`` ``(high-pass Hz, low-pass Hz)``; never below
    ``const.COLOUR_FLOOR_DB``."""
    octaves = np.log2(np.maximum(freqs, const.COLOUR_MIN_HZ) / const.COLOUR_PIVOT_HZ)
    tilt_span = np.log2(np.asarray(const.COLOUR_TILT_SPAN_HZ) / const.COLOUR_PIVOT_HZ)
    gain = tilt * np.clip(octaves, *tilt_span)
    for centre_hz, width, band_gain in bands:
        centre = np.log2(centre_hz / const.COLOUR_PIVOT_HZ)
        gain = gain + band_gain * np.exp(-0.5 * np.square((octaves - centre) / (width / 2.0)))
    if band_limit is not None:
        high_pass, low_pass = np.log2(np.asarray(band_limit) / const.COLOUR_PIVOT_HZ)
        beyond = np.maximum(0.0, high_pass - octaves) + np.maximum(0.0, octaves - low_pass)
        gain = gain - const.COLOUR_EDGE_DB_PER_OCTAVE * beyond
    return np.maximum(gain, const.COLOUR_FLOOR_DB)


def colour(rng, signal):
    """``signal`` (16 kHz, ``(samples,)``) through a random zero-phase
    filter of ``gain_curve_db``: same length, float32."""
    return filtered(signal, lambda freqs: gain_curve_db(rng, freqs))


def colour_alike(rng, signals):
    """Each of ``signals`` (16 kHz, ``(samples,)`` each, one length) through
    one and the same random zero-phase filter, as a whole mixture heard
    through one channel: a list, float32."""
    settings = draw_curve(rng)
    return filtered_alike(signals, lambda freqs: curve_db(freqs, **settings))


def filtered(signal, curve):
    """``signal`` (16 kHz, ``(samples,)``) through the zero-phase filter
    whose gain, dB, ``curve(freqs)`` gives at ``freqs`` (Hz): same length,
    float32. The signal is padded with ``const.COLOUR_PAD`` zeros before
    the FFT, so the filter's response does not wrap from one end of the
    crop to the other."""
    return filtered_alike([signal], curve)[0]


def filtered_alike(signals, curve):
    """``filtered`` for each of ``signals`` (one length), the gain worked out
    once: a list, float32. The FFTs run in single precision (scipy.fft),
    about three times as fast as NumPy's double-precision ones, which
    matters in train.py's example loaders."""
    n = len(signals[0])
    size = n + const.COLOUR_PAD
    freqs = scipy.fft.rfftfreq(size, 1.0 / const.SR).astype(np.float32)
    gain = np.power(np.float32(10.0), curve(freqs) / np.float32(20.0), dtype=np.float32)
    return [scipy.fft.irfft(scipy.fft.rfft(np.asarray(signal, np.float32), size) * gain,
                            size)[:n].astype(np.float32)
            for signal in signals]
