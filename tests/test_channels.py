"""make_separate.py --keep-channels: every channel under the mask of their
mean, or (``--keep-channels each``) separated by itself."""
import os

import numpy as np
import pytest
import soundfile as sf

import channels
import make_separate
import util
from conftest import chirp, harmonic_stack, noise_bursts, tone, write


def stereo(seconds, rate=16000):
    """A voice-like stack in both channels, a chirp left and noise bursts right."""
    voice = harmonic_stack(seconds, rate)
    return np.stack([voice + chirp(seconds, rate), 0.5 * voice + noise_bursts(seconds, rate)],
                    axis=1).astype(np.float32)


def split_with(mask_value, signal, block=4000):
    """``ChannelSplit`` of ``signal (samples, channels)`` fed the mean's
    speech as ``mask_value`` times the mean, ``block`` samples at a time."""
    mean = signal.mean(axis=1)
    split = channels.ChannelSplit(iter([signal]), len(signal), signal.shape[1])
    parts = [split.push(mask_value * mean[i:i + block], (1 - mask_value) * mean[i:i + block])
             for i in range(0, len(mean), block)]
    parts.append(split.push(mean[:0], mean[:0], last=True))
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


@pytest.mark.parametrize('block', [1000, 16000 * 3])
def test_the_mean_all_speech_or_none_is_every_channel_all_speech_or_none(block):
    signal = stereo(2.5)
    speech, music = split_with(1.0, signal, block)
    assert speech.shape == music.shape == signal.shape
    np.testing.assert_allclose(speech, signal, atol=1e-5)
    speech, music = split_with(0.0, signal, block)
    assert np.max(np.abs(speech)) == 0.0
    np.testing.assert_allclose(music, signal, atol=1e-6)


def test_effective_mask_is_the_clipped_magnitude_ratio():
    speech = np.array([[1.0, 3.0, 1.0]], np.complex64)
    mixture = np.array([[2.0j, 1.0, 0.0]], np.complex64)
    np.testing.assert_allclose(channels.effective_mask(speech, mixture), [[0.5, 1.0, 0.0]])


def test_resampler_with_channels_resamples_each_as_alone():
    signal = stereo(1.3, 44100)
    both = util.Resampler(44100, 16000, len(signal), channels=2)
    out = np.concatenate([both.process(signal[:20000]), both.process(signal[20000:]),
                          both.finish()])
    for c in range(2):
        alone = util.Resampler(44100, 16000, len(signal))
        expected = np.concatenate([alone.process(signal[:, c]), alone.finish()])
        np.testing.assert_allclose(out[:, c], expected, atol=1e-6)


@pytest.mark.parametrize('extra, rate', [([], 16000), (['--full-band'], 44100)])
def test_keep_channels_writes_the_input_channels_adding_up_to_them(tmp_path, model_path,
                                                                   extra, rate):
    signal = stereo(2.2, 44100)
    source = write(tmp_path / 'stereo.wav', signal, 44100)
    out, music = str(tmp_path / 'speech.wav'), str(tmp_path / 'music.wav')
    assert make_separate.main(['-i', source, '-o', out, '--music-out', music, '-m', model_path,
                               '--keep-channels', '--shifts', '1', '--speeds', '1'] + extra) == 0
    speech, speech_rate = sf.read(out, dtype='float32')
    total = speech + sf.read(music, dtype='float32')[0]
    if rate == 44100:
        expected = signal
    else:
        expected = np.concatenate(list(util.stream_audio(source, mix=False)))
    assert speech_rate == rate and speech.shape == expected.shape
    np.testing.assert_allclose(total, expected, atol=1e-5)
    assert np.all(np.isfinite(speech))


def test_identical_channels_come_back_identical_and_as_the_mono_run(tmp_path, model_path):
    mono = harmonic_stack(3.0) + noise_bursts(3.0)
    source = write(tmp_path / 'dual.wav', np.stack([mono, mono], axis=1))
    kept, mixed = str(tmp_path / 'kept.wav'), str(tmp_path / 'mixed.wav')
    for out, extra in ((kept, ['--keep-channels']), (mixed, [])):
        assert make_separate.main(['-i', source, '-o', out, '-m', model_path,
                                   '--shifts', '1', '--speeds', '1'] + extra) == 0
    both, single = sf.read(kept, dtype='float32')[0], sf.read(mixed, dtype='float32')[0]
    np.testing.assert_array_equal(both[:, 0], both[:, 1])
    # one mask of |S| / |X| put back on the mixture: the mono run to a small error
    error = np.sum((both[:, 0] - single) ** 2) / np.sum(single ** 2)
    assert error < 1e-3                 # -30 dB; about -38 dB with the random model


def test_more_channels_than_the_format_holds_is_one_line_before_any_work(tmp_path, model_path,
                                                                        capsys):
    three = np.stack([tone(1.0), chirp(1.0), tone(1.0, freq=880.0)], axis=1)
    source = write(tmp_path / 'three.wav', three)
    out = str(tmp_path / 'speech.mp3')
    assert make_separate.main(['-i', source, '-o', out, '-m', model_path,
                               '--keep-channels']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'at most 2 channels' in err[0] and out in err[0]
    assert os.listdir(str(tmp_path)) == ['three.wav']        # nothing written


@pytest.mark.parametrize('extra, rate', [([], 16000), (['--full-band'], 44100)])
def test_each_channel_is_separated_as_if_it_were_alone(tmp_path, model_path, extra, rate):
    """``--keep-channels each``: two voices on channels of their own (two
    microphones) come back as the mono runs of each channel, each with its
    own scale, and speech and music add up to every channel."""
    signal = np.stack([harmonic_stack(2.3, 44100) + 0.3 * noise_bursts(2.3, 44100),
                       0.2 * chirp(2.3, 44100) + noise_bursts(2.3, 44100, seed=4)], axis=1)
    source = write(tmp_path / 'interview.wav', signal, 44100)
    fast = ['-m', model_path, '--shifts', '2', '--speeds', '1', '1.05'] + extra
    out, music = str(tmp_path / 'speech.wav'), str(tmp_path / 'music.wav')
    assert make_separate.main(['-i', source, '-o', out, '--music-out', music,
                               '--keep-channels', 'each'] + fast) == 0
    speech, speech_rate = sf.read(out, dtype='float32')
    total = speech + sf.read(music, dtype='float32')[0]
    assert speech_rate == rate and speech.shape[1] == 2
    for c in range(2):
        alone = write(tmp_path / 'channel{}.wav'.format(c), signal[:, c], 44100)
        mono_out = str(tmp_path / 'channel{}.speech.wav'.format(c))
        assert make_separate.main(['-i', alone, '-o', mono_out] + fast) == 0
        expected, _ = sf.read(mono_out, dtype='float32')
        np.testing.assert_allclose(speech[:, c], expected, atol=1e-6)
    expected = signal if rate == 44100 else np.concatenate(
        list(util.stream_audio(source, mix=False)))
    np.testing.assert_allclose(total, expected, atol=1e-5)


def test_each_channel_of_a_mono_input_is_the_mono_run(tmp_path, model_path):
    source = write(tmp_path / 'mono.wav', harmonic_stack(1.5) + noise_bursts(1.5))
    outputs = [str(tmp_path / 'each.wav'), str(tmp_path / 'plain.wav')]
    for out, extra in zip(outputs, (['--keep-channels', 'each'], [])):
        assert make_separate.main(['-i', source, '-o', out, '-m', model_path] + extra) == 0
    assert open(outputs[0], 'rb').read() == open(outputs[1], 'rb').read()
