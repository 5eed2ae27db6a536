"""colouring.py: random equalisers for train.py --colour."""
import numpy as np

import colouring
import const

N = 127 * const.H               # one training crop of 128 frames (4.1 s)
SEEDS = range(40)


def test_a_tone_comes_out_at_the_curves_gain_for_its_frequency():
    t = np.arange(N) / const.SR
    for seed in range(12):
        for freq in (250.0, 1000.0, 3000.0, 7000.0):
            tone = np.sin(2 * np.pi * freq * t).astype(np.float32)
            out = colouring.colour(np.random.default_rng(seed), tone)
            gain_db = colouring.gain_curve_db(np.random.default_rng(seed), np.array([freq]))[0]
            middle = slice(N // 4, 3 * N // 4)      # away from the crop's ends
            measured = 20 * np.log10(np.std(out[middle]) / np.std(tone[middle]))
            assert out.dtype == np.float32 and out.shape == tone.shape
            assert abs(measured - gain_db) < 0.1, (seed, freq)


def test_the_filter_does_not_wrap_from_one_end_of_the_crop_to_the_other():
    burst = np.zeros(N, np.float32)
    burst[:800] = np.random.default_rng(0).standard_normal(800)     # 50 ms at the start
    for seed in SEEDS:
        out = colouring.colour(np.random.default_rng(seed), burst)
        tail = np.sqrt(np.mean(np.square(out[-1600:], dtype=np.float64)))  # the last 100 ms
        head = np.sqrt(np.mean(np.square(out[:800], dtype=np.float64)))
        assert tail < head * 1e-3, seed        # -60 dB: unpadded, half reach -48 dB


def test_curves_vary_stay_above_the_floor_and_some_are_band_limited():
    freqs = np.fft.rfftfreq(const.FFT_SIZE, 1.0 / const.SR)
    curves = np.array([colouring.gain_curve_db(np.random.default_rng(seed), freqs)
                       for seed in SEEDS])
    assert np.all(np.isfinite(curves)) and curves.min() >= const.COLOUR_FLOOR_DB
    assert np.all(np.ptp(curves, axis=1) > 1.0)     # every one colours
    top = curves[:, -1] - curves[:, np.searchsorted(freqs, 1000.0)]
    limited = top < -40.0                          # 8 kHz far below 1 kHz: a low-pass edge
    assert 0 < limited.sum() < len(SEEDS)
    again = colouring.gain_curve_db(np.random.default_rng(3), freqs)
    np.testing.assert_array_equal(again, curves[3])


def test_colour_alike_passes_every_signal_through_one_and_the_same_filter():
    noise = np.random.default_rng(1).standard_normal((2, N)).astype(np.float32)
    for seed in range(8):
        alike = colouring.colour_alike(np.random.default_rng(seed), noise)
        # filtering is linear: the filtered sum is the sum filtered
        summed = colouring.colour_alike(np.random.default_rng(seed), [noise.sum(axis=0)])[0]
        np.testing.assert_allclose(alike[0] + alike[1], summed, atol=1e-4)
        settings = colouring.draw_curve(np.random.default_rng(seed))
        single = colouring.filtered(noise[1], lambda f: colouring.curve_db(f, **settings))
        np.testing.assert_array_equal(alike[1], single)
