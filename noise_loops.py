"""Synthetic noise percussion: loops of shaker, brush and hi-hat-like bursts.

The corpus's music has drums with sharp attacks, but no noise-like
percussion that swells and fades over a few hundred milliseconds (shakers,
cabasas, brushes, reversed cymbals). To a magnitude mask such a burst looks
like a fricative, and the model passes it as speech (docs/MODEL.md, the
Sonic Pi loops of the test side). ``train.py --noise-music SHARE`` adds one
of these loops to that share of the music crops (``mixing.py``), so that
the model hears noise bursts in a rhythm as music. On the corpus that
taught the model to cut clean speech's fricatives too (docs/MODEL.md,
stages 17 and 18), so the shipped model was trained without it.

A loop has one to ``const.NOISE_VOICES`` voices. Each voice is white noise
band-passed to its own band, shaped by a linear attack and an exponential
decay, struck on a random pattern of a bar's steps at a random tempo and
repeated bar after bar, with a little jitter in level.
"""
import numpy as np

import const


def noise_loop(rng, n):
    """``n`` samples (16 kHz, float32, ``n`` > 0) of a random
    noise-percussion loop, peak 1."""
    step = 60.0 / rng.uniform(*const.NOISE_TEMPO_BPM) / rng.choice(const.NOISE_SUBDIVISIONS)
    loop = np.zeros(n, np.float32)
    for _ in range(rng.integers(1, const.NOISE_VOICES + 1)):
        loop += voice(rng, n, step)
    peak = float(np.max(np.abs(loop)))
    return loop / peak if peak > 0.0 else loop


def voice(rng, n, step):
    """One voice: band-limited noise struck on a bar pattern of steps
    ``step`` seconds apart (``const.NOISE_STEPS`` a bar), each hit and the
    voice at levels drawn from const.py."""
    hits = hit_times(rng, n, step)
    envelope = np.zeros(n, np.float32)
    shape = burst(rng)
    for start in hits:
        gain = 10.0 ** (rng.uniform(*const.NOISE_HIT_GAIN_DB) / 20.0)
        end = min(n, start + len(shape))
        envelope[start:end] = np.maximum(envelope[start:end], gain * shape[:end - start])
    noise = band_limited(rng, rng.standard_normal(n).astype(np.float32))
    return noise * envelope * np.float32(10.0 ** (rng.uniform(*const.NOISE_VOICE_GAIN_DB) / 20.0))


def hit_times(rng, n, step):
    """Start samples of the hits: a pattern of ``const.NOISE_STEPS`` steps
    (each struck with a drawn probability, at least one), repeated from a
    random phase; at least one hit in the ``n`` samples."""
    pattern = rng.random(const.NOISE_STEPS) < rng.uniform(*const.NOISE_DENSITY)
    pattern[rng.integers(const.NOISE_STEPS)] = True
    steps = np.flatnonzero(pattern)
    bar = step * const.NOISE_STEPS
    phase = rng.uniform(0.0, bar)
    starts = [(k * bar + s * step - phase) for k in range(int(n / const.SR / bar) + 2)
              for s in steps]
    hits = [int(t * const.SR) for t in starts if 0.0 <= t * const.SR < n]
    return hits or [int(rng.integers(n))]      # a slow, sparse bar can miss a short crop


def burst(rng):
    """A burst's envelope: a linear rise over the attack, then a decay of
    60 dB over the decay time (both log-uniform, seconds in const.py)."""
    attack = np.exp(rng.uniform(*np.log(const.NOISE_ATTACK_S)))
    decay = np.exp(rng.uniform(*np.log(const.NOISE_DECAY_S)))
    rise = np.linspace(0.0, 1.0, max(1, int(attack * const.SR)), endpoint=False)
    fall = 10.0 ** (-3.0 * np.arange(int(decay * const.SR)) / (decay * const.SR))
    return np.concatenate([rise, fall]).astype(np.float32)


def band_limited(rng, noise):
    """``noise`` band-passed between a low edge (log-uniform in
    const.NOISE_LOW_HZ) and const.NOISE_BAND_RATIO times it, capped at 8 kHz,
    with gentle 12 dB/octave skirts (a filter in the FFT domain)."""
    low = np.exp(rng.uniform(*np.log(const.NOISE_LOW_HZ)))
    high = min(const.SR / 2.0, low * np.exp(rng.uniform(*np.log(const.NOISE_BAND_RATIO))))
    freqs = np.fft.rfftfreq(len(noise), 1.0 / const.SR)
    with np.errstate(divide='ignore'):
        gain = 1.0 / (1.0 + (low / np.maximum(freqs, 1.0)) ** 2) / (1.0 + (freqs / high) ** 2)
    return np.fft.irfft(np.fft.rfft(noise) * gain, len(noise)).astype(np.float32)
