"""make_separate.py --full-band: the input's band above the 16 kHz separation,
given to the speech in its share of the band below."""
import numpy as np
import pytest
import scipy.signal
import soundfile as sf

import const
import high_band
import make_separate
import util
from conftest import harmonic_stack, noise_bursts, tone, write


def full_band_speech(path, mask_value, rate=None, **kwargs):
    """Speech and music of ``path`` at its rate (or ``rate``) through a
    separator whose mask is ``mask_value`` everywhere."""
    separator = make_separate.Separator(lambda p: np.full_like(p, mask_value),
                                        shifts=1, speeds=())
    speech_path, music_path = path + '.speech.wav', path + '.music.wav'
    make_separate.separate_file(path, speech_path, separator, music_path,
                                sr=rate or 'input', full_band=True, **kwargs)
    return sf.read(speech_path, dtype='float32')[0], sf.read(music_path, dtype='float32')[0]


def band_energy(signal, rate, low, high):
    freqs, power = scipy.signal.welch(signal, rate, nperseg=4096)
    return power[(freqs >= low) & (freqs < high)].sum()


def bright_mixture(seconds, rate):
    """A harmonic stack and noise bursts with energy up to 20 kHz."""
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(int(round(seconds * rate))).astype(np.float32) * 0.05
    return harmonic_stack(seconds, rate, f0=220.0, n=80) * 0.5 + noise + \
        noise_bursts(seconds, rate) * 0.5


@pytest.mark.parametrize('rate', [44100, 48000])
def test_all_speech_passes_the_whole_band_and_no_speech_leaves_none(tmp_path, rate):
    mixture = bright_mixture(3.0, rate)
    path = write(tmp_path / 'bright.wav', mixture, rate)
    speech, music = full_band_speech(path, 1.0)
    assert len(speech) == len(music) == len(mixture)
    # the separation passes everything below 8 kHz, the band above follows it
    np.testing.assert_allclose(speech, mixture, atol=2e-4)
    assert np.max(np.abs(music)) < 2e-4
    speech, music = full_band_speech(path, 0.0)
    assert np.max(np.abs(speech)) < 1e-6
    np.testing.assert_allclose(music, mixture, atol=1e-6)


def test_the_upper_band_follows_the_speech_share_and_is_absent_without_it(tmp_path):
    mixture = bright_mixture(3.0, 44100)
    path = write(tmp_path / 'bright.wav', mixture, 44100)
    half, _ = full_band_speech(path, 0.5)
    ratio = band_energy(half, 44100, 9000, 20000) / band_energy(mixture, 44100, 9000, 20000)
    assert ratio == pytest.approx(0.25, rel=0.02)      # a gain of 0.5 in amplitude
    separator = make_separate.Separator(lambda p: np.full_like(p, 0.5), shifts=1, speeds=())
    plain_path = str(tmp_path / 'plain.wav')
    make_separate.separate_file(path, plain_path, separator, sr='input')
    plain = sf.read(plain_path, dtype='float32')[0]
    assert band_energy(plain, 44100, 9000, 20000) < 1e-8 * band_energy(mixture, 44100,
                                                                       9000, 20000)
    low = band_energy(half, 44100, 100, 7000) / band_energy(plain, 44100, 100, 7000)
    assert low == pytest.approx(1.0, rel=1e-3)          # below it, the separation as it was


def test_speech_and_music_add_up_to_the_mixture_at_another_rate(tmp_path):
    mixture = bright_mixture(2.3, 44100)
    stereo = np.stack([mixture, 0.5 * tone(2.3, 44100, 3000.0)], axis=1)
    path = write(tmp_path / 'stereo.flac', stereo, 44100, 'PCM_24')
    speech, music = full_band_speech(path, 0.7, rate=48000)
    expected = util.Resampler(44100, 48000, len(mixture))
    downmix = sf.read(path, dtype='float32')[0].mean(axis=1)
    resampled = np.concatenate([expected.process(downmix), expected.finish()])
    assert len(speech) == len(resampled) == util.resampled_length(len(mixture), 44100, 48000)
    np.testing.assert_allclose(speech + music, resampled, atol=1e-5)


def test_band_share_in_blocks_equals_one_push_and_gives_every_sample():
    rng = np.random.default_rng(0)
    n = const.SR * 3 + 123
    mixture = rng.standard_normal(n).astype(np.float32)
    speech = mixture * np.linspace(0, 1, n, dtype=np.float32)      # a share rising over time
    whole = high_band.BandShare(n).push(speech, mixture, last=True)
    share = high_band.BandShare(n)
    parts = [share.push(speech[i:i + 4000], mixture[i:i + 4000]) for i in range(0, n, 4000)]
    parts.append(share.push(speech[:0], mixture[:0], last=True))
    blocked = np.concatenate(parts)
    assert len(whole) == len(blocked) == n
    np.testing.assert_allclose(blocked, whole, atol=1e-6)
    assert whole[const.SR // 2] < 0.3 and whole[-const.SR // 2] > 0.7
    assert np.all(np.diff(whole[const.H:-const.H]) > -0.05)      # interpolated, no jumps


def test_frame_shares_are_clipped_and_zero_over_silence():
    mixture = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]], np.complex64)
    speech = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]], np.complex64)
    np.testing.assert_allclose(high_band.frame_shares(speech, mixture),
                               [np.sqrt(0.5), 0.0, 1.0])


def test_full_band_option_writes_at_the_input_rate(tmp_path, model_path):
    path = write(tmp_path / 'in.wav', bright_mixture(1.5, 32000), 32000)
    out, music = str(tmp_path / 'out.wav'), str(tmp_path / 'music.wav')
    assert make_separate.main(['-i', path, '-o', out, '--music-out', music, '-m', model_path,
                               '--full-band', '--shifts', '1', '--speeds', '1']) == 0
    info = sf.info(out)
    assert (info.samplerate, info.frames) == (32000, 48000)
    total = sf.read(out, dtype='float32')[0] + sf.read(music, dtype='float32')[0]
    np.testing.assert_allclose(total, sf.read(path, dtype='float32')[0], atol=1e-5)
