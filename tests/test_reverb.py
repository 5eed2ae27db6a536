"""reverb.py: synthetic rooms for train.py --reverb and channel_items.py."""
import numpy as np
import pytest

import const
import reverb

SEEDS = range(20)


def energy_db(signal):
    return 10 * np.log10(np.sum(np.square(signal, dtype=np.float64)))


def test_a_response_is_the_direct_sound_then_a_tail_at_the_drawn_ratio():
    for seed in SEEDS:
        room = reverb.draw_room(np.random.default_rng(seed))
        response = reverb.room_response(np.random.default_rng(seed), **room)
        start = int(round(room['predelay'] * const.SR))
        assert response.dtype == np.float32
        assert len(response) == start + int(np.ceil(room['rt60'] * const.SR))
        assert response[0] == 1.0 and not np.any(response[1:start])
        assert energy_db(response[start:]) == pytest.approx(-room['drr_db'], abs=0.01)


def test_the_tail_falls_60_db_in_the_rooms_reverberation_time_faster_up_high():
    rt60 = 0.8
    response = reverb.room_response(np.random.default_rng(0), rt60, drr_db=0.0, predelay=0.0)
    window = int(0.05 * const.SR)
    decay = {}
    for name, low, high in (('low', 50, 450), ('high', 4200, 7800)):
        spectrum = np.fft.rfft(response[1:])
        freqs = np.fft.rfftfreq(len(response) - 1, 1.0 / const.SR)
        band = np.fft.irfft(np.where((freqs >= low) & (freqs < high), spectrum, 0.0),
                            len(response) - 1)
        early, late = band[window:2 * window], band[8 * window:9 * window]
        decay[name] = (energy_db(early) - energy_db(late)) / (7 * 0.05)   # dB per second
    assert decay['low'] == pytest.approx(60.0 / rt60, rel=0.25)
    share = const.REVERB_HIGH_RT60_SHARE
    assert decay['high'] == pytest.approx(60.0 / (rt60 * share), rel=0.25)


def test_rooms_are_drawn_within_the_ranges_and_repeat_with_the_generator():
    rooms = [reverb.draw_room(np.random.default_rng(seed)) for seed in range(200)]
    for key, limits in (('rt60', const.REVERB_RT60_S), ('drr_db', const.REVERB_DRR_DB),
                        ('predelay', const.REVERB_PREDELAY_S)):
        values = np.array([room[key] for room in rooms])
        assert limits[0] <= values.min() and values.max() <= limits[1]
        assert np.ptp(values) > 0.5 * (limits[1] - limits[0])
    np.testing.assert_array_equal(reverb.random_response(np.random.default_rng(7)),
                                  reverb.random_response(np.random.default_rng(7)))


def test_reverberate_is_the_causal_convolution_cut_to_the_signal():
    rng = np.random.default_rng(1)
    signal = rng.standard_normal(3000).astype(np.float32)
    response = reverb.room_response(rng, 0.1, drr_db=3.0, predelay=0.005)
    out = reverb.reverberate(signal, response)
    assert out.dtype == np.float32 and out.shape == signal.shape
    np.testing.assert_allclose(out, np.convolve(signal, response)[:len(signal)], atol=1e-4)
    click = np.zeros(4000, np.float32)
    click[500] = 1.0
    heard = reverb.reverberate(click, response)
    assert np.abs(heard[:500]).max() < 1e-6                  # nothing before the sound
    np.testing.assert_allclose(heard[500:500 + len(response)], response, atol=1e-6)
