"""equalising.py, make_separate.py --equalise, scripts/equalise_reference.py
and scripts/eq_pilot.py: the network's input raised towards the training
mixtures' long-term shape."""
import os
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, harmonic_stack, noise_bursts, write

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import const  # noqa: E402
import eq_pilot  # noqa: E402
import equalise_reference  # noqa: E402
import equalising  # noqa: E402
import make_separate  # noqa: E402

WEIGHTS = equalising.smoother()
OCTAVES_FROM_1K = np.log2(equalising.FREQS / 1000.0)
BAND = (equalising.FREQS > 200) & (equalising.FREQS < 6000)


def tilted_patch(db_per_octave, frames=64, seed=3):
    """Noise magnitudes ``(512, frames)`` whose level turns by ``db_per_octave``
    about 1 kHz."""
    noise = np.abs(np.random.default_rng(seed).standard_normal((512, frames)))
    return (noise * 10.0 ** (db_per_octave * OCTAVES_FROM_1K / 20.0)[:, None]).astype(np.float32)


def long_term_db(patch):
    return equalising.shape_db((patch.astype(np.float64) ** 2).mean(axis=1), WEIGHTS)


def raised(patch, gains):
    return patch * (10.0 ** (gains / 20.0)).astype(np.float32)[:, None]


def test_the_shipped_reference_falls_with_frequency_as_music_and_speech_do():
    ref = equalising.reference_shape()
    assert ref.shape == (512,) and ref.max() <= 0.0
    at = lambda hz: ref[np.argmin(np.abs(equalising.FREQS - hz))]  # noqa: E731
    assert at(100) > at(1000) + 5.0 > at(4000) + 10.0


def test_a_bright_patch_is_raised_to_the_reference_shape_below_its_upper_octaves():
    # the median bin lies near 4 kHz (half the bins are above it): the bins
    # below, short of the reference by up to 4 dB an octave, are raised;
    # those above, louder than it, are not lowered
    flat = long_term_db(tilted_patch(0.0, seed=1))
    bright = tilted_patch(4.0)
    gains = equalising.patch_gains_db(bright, flat, WEIGHTS, limit_db=40.0)
    before, after = (long_term_db(p) - flat for p in (bright, raised(bright, gains)))
    below = BAND & (equalising.FREQS < 2000)
    assert np.ptp(before[below]) > 10.0              # 4 dB/oct over 3.3 octaves
    assert np.ptp(after[below]) < np.ptp(before[below]) / 3.0   # mostly flat again (the
    # bins above, left as they are, still weigh in the 1-octave smoothing)
    assert gains.min() == 0.0 and gains[equalising.FREQS > 4500].max() == 0.0


def test_bins_are_raised_only_and_at_most_the_limit_unless_cut():
    flat = long_term_db(tilted_patch(0.0, seed=1))
    bright = tilted_patch(6.0)
    boost = equalising.patch_gains_db(bright, flat, WEIGHTS, limit_db=1.0)
    both = equalising.patch_gains_db(bright, flat, WEIGHTS, limit_db=1.0, cut=True)
    assert boost.min() == 0.0 and boost.max() == 1.0
    assert both.min() == -1.0 and both.max() == 1.0
    np.testing.assert_array_equal(boost, np.maximum(both, 0.0))


def test_a_patch_of_the_reference_shape_and_a_silent_one_are_left_alone():
    patch = tilted_patch(0.0, seed=1)
    gains = equalising.patch_gains_db(patch, long_term_db(patch), WEIGHTS)
    np.testing.assert_allclose(gains, 0.0, atol=1e-9)
    silent = equalising.patch_gains_db(np.zeros((512, 64), np.float32), long_term_db(patch),
                                       WEIGHTS)
    np.testing.assert_array_equal(silent, 0.0)


def test_the_network_sees_each_patch_equalised_and_the_rest_unchanged():
    seen = []
    ref = long_term_db(tilted_patch(0.0, seed=1))
    fn = equalising.equalised(lambda p: seen.append(p) or np.ones_like(p), ref_shape=ref,
                              limit_db=40.0)
    patches = np.stack([tilted_patch(4.0)[None], np.zeros((1, 512, 64), np.float32)])
    kept = patches.copy()
    masks = fn(patches)
    np.testing.assert_array_equal(patches, kept)       # the caller's patches untouched
    assert masks.shape == patches.shape
    below = BAND & (equalising.FREQS < 2000)
    before, after = (np.ptp((long_term_db(p) - ref)[below]) for p in (kept[0, 0], seen[0][0, 0]))
    assert after < before / 3.0
    np.testing.assert_array_equal(seen[0][1], 0.0)


def separate(*argv):
    return make_separate.main(list(argv))


def shape_following_network(unet, device):
    """A stand-in network whose mask follows each bin's share of the patch's
    loudest bin: it answers to what equalising changes."""
    def mask_fn(patches):
        level = patches.mean(axis=3, keepdims=True)
        return np.broadcast_to(level / level.max(axis=2, keepdims=True),
                               patches.shape).astype(np.float32)
    return mask_fn


def test_equalise_is_an_option_of_make_separate(tmp_path, model_path, capsys, monkeypatch):
    # a thin mixture (little below 1.5 kHz): the network sees its lower
    # bands raised, so its speech differs; both keep the input's length
    monkeypatch.setattr(make_separate, 'network_mask_fn', shape_following_network)
    mixture = harmonic_stack(6.0, f0=1500.0, n=5) + 0.01 * harmonic_stack(6.0, f0=100.0, n=3)
    source = write(tmp_path / 'in.wav', mixture)
    outs = {}
    for setting in const.EQUALISE:
        outs[setting] = str(tmp_path / '{}.wav'.format(setting))
        assert separate('-i', source, '-o', outs[setting], '-m', model_path,
                        '--equalise', setting) == 0
        assert 'equalise: {}'.format(setting) in capsys.readouterr().out
    boost, off = (sf.read(outs[s])[0] for s in const.EQUALISE)
    assert len(boost) == len(off) == len(mixture)
    assert np.all(np.isfinite(boost)) and np.abs(boost - off).max() > 1e-2


def test_equalise_off_is_the_separation_without_it(model_path):
    mixture = harmonic_stack(5.0, f0=80.0) + 0.05 * noise_bursts(5.0)
    off = make_separate.load_separator(model_path, shifts=1, speeds=(), equalise='off')
    plain = make_separate.Separator(
        make_separate.levelled(make_separate.network_mask_fn(
            make_separate.network.load_unet(model_path),
            make_separate.chainer.get_device('@numpy'))), shifts=1, speeds=())
    np.testing.assert_array_equal(off.separate(mixture)[0], plain.separate(mixture)[0])


def test_an_unknown_equalise_setting_is_refused(tmp_path, model_path, capsys):
    source = write(tmp_path / 'in.wav', harmonic_stack(1.0))
    with pytest.raises(SystemExit) as stop:
        separate('-i', source, '-o', str(tmp_path / 'out.wav'), '-m', model_path,
                 '--equalise', 'loud')
    assert stop.value.code != 0
    assert "--equalise: invalid choice: 'loud'" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / 'out.wav')


def test_the_reference_script_prints_a_table_for_const(speech_music_dirs, tmp_path, capsys):
    music, speech = speech_music_dirs
    saved = str(tmp_path / 'power.npy')
    assert equalise_reference.main(['-s', speech, '-m', music, '-n', '20',
                                    '--save', saved]) == 0
    text = capsys.readouterr().out
    table = eval(text.split('=', 1)[1])                 # the tuple, as pasted into const.py
    hz = [row[0] for row in table]
    assert len(table) == 28 and hz[0] == 15.6 and hz[-1] == 8000.0
    assert max(row[1] for row in table) <= 0.0
    power = np.load(saved)
    assert power.shape == (512,) and abs(power.sum() - 1.0) < 1e-9
    # the table read back gives the smoothed shape of the saved power
    shape = equalising.shape_db(power, WEIGHTS)
    assert np.abs(equalising.reference_shape(table) - shape)[BAND].max() < 0.5


def test_the_pilot_reads_its_settings_from_the_environment(tmp_path):
    assert eq_pilot.settings({}) == dict(ref_shape=None, octaves=const.EQUALISE_OCTAVES,
                                         limit_db=const.EQUALISE_LIMIT_DB, cut=False)
    path = str(tmp_path / 'power.npy')
    np.save(path, np.linspace(1.0, 0.01, 512))
    chosen = eq_pilot.settings({'OCTAVES': '0.5', 'LIMIT_DB': '6', 'CUT': '1',
                                'EQ_REFERENCE': path})
    assert (chosen['octaves'], chosen['limit_db'], chosen['cut']) == (0.5, 6.0, True)
    assert chosen['ref_shape'].shape == (512,) and chosen['ref_shape'].max() == 0.0
