"""noise_loops.py: synthetic noise percussion for train.py --noise-music."""
import os
import sys

import numpy as np

import const
import noise_loops
from conftest import ROOT

N = 127 * const.H               # one training crop of 128 frames (4.1 s)
SEEDS = range(12)


def frame_rms(signal, frame=const.H):
    frames = signal[:len(signal) // frame * frame].reshape(-1, frame)
    return np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))


def test_a_loop_repeats_exactly_with_its_generator_and_fills_the_crop():
    for seed in SEEDS:
        loop = noise_loops.noise_loop(np.random.default_rng(seed), N)
        again = noise_loops.noise_loop(np.random.default_rng(seed), N)
        assert loop.dtype == np.float32 and loop.shape == (N,)
        assert np.array_equal(loop, again) and np.all(np.isfinite(loop))
        assert np.max(np.abs(loop)) == np.float32(1.0)
    other = noise_loops.noise_loop(np.random.default_rng(99), N)
    assert not np.array_equal(other, noise_loops.noise_loop(np.random.default_rng(0), N))


def test_a_loop_is_bursts_not_steady_noise():
    # the level rises and falls by at least 10 dB within every crop
    for seed in SEEDS:
        rms = frame_rms(noise_loops.noise_loop(np.random.default_rng(seed), N))
        assert 20 * np.log10(rms.max() / rms.mean()) > 3.0
        assert 20 * np.log10(rms.max() / max(rms.min(), 1e-12)) > 10.0


def test_even_a_slow_sparse_loop_sounds_in_a_short_crop():
    for seed in range(200):
        assert np.any(noise_loops.noise_loop(np.random.default_rng(seed), const.H * 8))


def test_a_loop_has_no_bass():
    # noise percussion: the lowest band edge is 300 Hz, so below 50 Hz the
    # spectrum lies at least 20 dB under its peak
    freqs = np.fft.rfftfreq(N, 1.0 / const.SR)
    for seed in SEEDS:
        power = np.abs(np.fft.rfft(noise_loops.noise_loop(np.random.default_rng(seed), N))) ** 2
        smooth = np.convolve(power, np.ones(64) / 64, mode='same')
        assert 10 * np.log10(smooth[(freqs > 5) & (freqs < 50)].max() / smooth.max()) < -20.0


def test_a_burst_rises_then_decays_by_sixty_db():
    for seed in SEEDS:
        shape = noise_loops.burst(np.random.default_rng(seed))
        top = int(np.argmax(shape))
        assert np.all(np.diff(shape[:top + 1]) >= 0) and np.all(np.diff(shape[top:]) <= 0)
        assert shape[-1] <= 1e-3 * shape[top] * 1.01
        assert const.NOISE_ATTACK_S[0] * const.SR - 1 <= top <= const.NOISE_ATTACK_S[1] * const.SR


def test_noise_leak_measures_what_a_mask_lets_through():
    import make_separate
    sys.path.insert(0, os.path.join(ROOT, 'scripts'))
    import noise_leak
    loops = noise_leak.items(2, 1.0, seed=5)
    assert all(np.max(np.abs(loop)) == np.float32(0.5) for loop in loops)
    assert all(np.array_equal(a, b) for a, b in zip(loops, noise_leak.items(2, 1.0, seed=5)))
    passing = make_separate.Separator(lambda p: np.ones_like(p), shifts=1)
    halving = make_separate.Separator(lambda p: np.full_like(p, 0.5), shifts=1)
    for loop in loops:
        assert abs(noise_leak.leak_db(passing, loop)) < 0.01
        assert abs(noise_leak.leak_db(halving, loop) + 6.02) < 0.1


def test_noise_leak_names_a_missing_model_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)
    sys.path.insert(0, os.path.join(ROOT, 'scripts'))
    import noise_leak
    missing = str(tmp_path / 'no.model')
    assert noise_leak.main([missing, '--items', '1', '--seconds', '0.5']) == 1
    err = capsys.readouterr().err.strip()
    assert err == 'noise_leak.py: error: {}: model file not found'.format(missing)
