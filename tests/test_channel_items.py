"""scripts/channel_items.py: evaluation items heard through another channel."""
import os
import sys

import numpy as np
import pytest
import soundfile as sf

import mixing

from conftest import harmonic_stack, noise_bursts, tone, write

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'scripts'))
import channel_items  # noqa: E402

MANIFEST = 'name,speech_file,music_file,snr_db,speed,seconds\na,s.flac,m.flac,0.0,1.0,2.0\n'


def items(root):
    """One mixture in snr0 (speech 150 Hz stack, music noise plus a 100 Hz
    hum) and one of music alone."""
    speech = harmonic_stack(2.0, f0=150.0)
    music = noise_bursts(2.0) + tone(2.0, freq=100.0, amp=0.2)
    for sub, s in (('snr0', speech), ('music', np.zeros_like(speech))):
        write(root / sub / 'a.speech.wav', s)
        write(root / sub / 'a.music.wav', music)
        write(root / sub / 'a.wav', s + music)
        (root / sub / 'manifest.csv').write_text(MANIFEST)


def read(path):
    return sf.read(str(path), dtype='float32')[0]


def band_power(signal, low, high):
    spectrum = np.abs(np.fft.rfft(signal)) ** 2
    freqs = np.fft.rfftfreq(len(signal), 1.0 / 16000)
    return spectrum[(freqs >= low) & (freqs < high)].sum()


def test_telephone_items_keep_ratio_and_level_and_lose_the_low_band(tmp_path):
    items(tmp_path / 'in')
    channel_items.main(['-i', str(tmp_path / 'in'), '-o', str(tmp_path / 'out'),
                        '-c', 'telephone'])
    before, after = tmp_path / 'in' / 'snr0', tmp_path / 'out' / 'snr0'
    assert (after / 'manifest.csv').read_text() == MANIFEST
    speech, music, mixture = (read(after / n) for n in ('a.speech.wav', 'a.music.wav', 'a.wav'))
    np.testing.assert_allclose(mixture, speech + music, atol=1e-6)
    old = [read(before / n) for n in ('a.speech.wav', 'a.music.wav', 'a.wav')]
    power = mixing.power
    assert power(speech) / power(music) == pytest.approx(power(old[0]) / power(old[1]),
                                                        rel=1e-3)
    assert power(mixture) == pytest.approx(power(old[2]), rel=1e-3)
    # the 100 Hz hum, three octaves below 300 Hz at 48 dB an octave, is gone
    hum = band_power(music, 90, 110) / band_power(music, 500, 3000)
    old_hum = band_power(old[1], 90, 110) / band_power(old[1], 500, 3000)
    assert 10 * np.log10(hum / old_hum) < -50
    alone = read(tmp_path / 'out' / 'music' / 'a.speech.wav')
    assert not np.any(alone) and np.any(read(tmp_path / 'out' / 'music' / 'a.wav'))


def test_mixed_takes_the_channels_in_turn_and_an_existing_output_is_refused(tmp_path):
    items(tmp_path / 'in')
    snr0 = tmp_path / 'in' / 'snr0'
    for tag in ('', '.speech', '.music'):       # a second item, b, the same as a
        write(snr0 / ('b' + tag + '.wav'), read(snr0 / ('a' + tag + '.wav')))
    out = tmp_path / 'out'
    channel_items.main(['-i', str(tmp_path / 'in'), '-o', str(out), '-c', 'mixed'])
    firsts = {}
    for channel in sorted(channel_items.CHANNELS)[:2]:
        single = tmp_path / channel
        channel_items.main(['-i', str(tmp_path / 'in'), '-o', str(single), '-c', channel])
        firsts[channel] = read(single / 'snr0' / 'a.wav')
    first, second = firsts.values()
    np.testing.assert_array_equal(read(out / 'snr0' / 'a.wav'), first)
    np.testing.assert_array_equal(read(out / 'snr0' / 'b.wav'), second)
    assert not np.allclose(first, second, atol=1e-3)
    assert channel_items.main(['-i', str(tmp_path / 'in'), '-o', str(out), '-c', 'dull']) == 1


def test_a_missing_input_or_an_interrupted_copy_leaves_no_folder(tmp_path, capsys,
                                                                 monkeypatch):
    """No items is one line, not '0 items'; Ctrl-C half-way is one line and
    leaves no folder that a later run (make val-channels) would take as done."""
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)
    out = tmp_path / 'out'
    assert channel_items.main(['-i', str(tmp_path / 'nothing'), '-o', str(out), '-c',
                               'dull']) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('channel_items.py: error: -i ') and 'make model-data' in err
    assert '\n' not in err and not out.exists()
    items(tmp_path / 'in')
    written = []
    write_audio = channel_items.util.write_audio

    def interrupted(path, *args, **kwargs):
        if written:
            raise KeyboardInterrupt
        written.append(path)
        return write_audio(path, *args, **kwargs)
    monkeypatch.setattr(channel_items.util, 'write_audio', interrupted)
    assert channel_items.main(['-i', str(tmp_path / 'in'), '-o', str(out), '-c',
                               'dull']) == 130
    assert capsys.readouterr().err.strip() == 'channel_items.py: interrupted'
    assert written and sorted(os.listdir(str(tmp_path))) == ['in']


def test_a_room_reverberates_the_speech_alone_and_keeps_ratio_and_level(tmp_path):
    items(tmp_path / 'in')
    channel_items.main(['-i', str(tmp_path / 'in'), '-o', str(tmp_path / 'out'),
                        '-c', 'hall'])
    before, after = tmp_path / 'in' / 'snr0', tmp_path / 'out' / 'snr0'
    speech, music, mixture = (read(after / n) for n in ('a.speech.wav', 'a.music.wav', 'a.wav'))
    old = [read(before / n) for n in ('a.speech.wav', 'a.music.wav', 'a.wav')]
    np.testing.assert_allclose(mixture, speech + music, atol=1e-6)
    power = mixing.power
    assert power(speech) / power(music) == pytest.approx(power(old[0]) / power(old[1]),
                                                        rel=1e-3)
    assert power(mixture) == pytest.approx(power(old[2]), rel=1e-3)
    # the music is only levelled; the speech is the old one through the hall
    gain = np.sqrt(power(music) / power(old[1]))
    np.testing.assert_allclose(music, old[1] * gain, atol=1e-5)
    hall = channel_items.room_responses()['hall']
    expected = np.convolve(old[0], hall)[:len(old[0])]
    np.testing.assert_allclose(speech / np.std(speech), expected / np.std(expected), atol=1e-3)
    # a click in the hall still sounds half a second later
    click = np.zeros(16000, np.float32)
    click[0] = 1.0
    tail = channel_items.in_room(click, np.zeros_like(click), click, hall)[0]
    assert np.abs(tail[8000:]).max() > 1e-4 and np.abs(tail[:1]).max() > 0.5


def test_rooms_takes_the_rooms_in_turn(tmp_path):
    items(tmp_path / 'in')
    snr0 = tmp_path / 'in' / 'snr0'
    for tag in ('', '.speech', '.music'):
        write(snr0 / ('b' + tag + '.wav'), read(snr0 / ('a' + tag + '.wav')))
    channel_items.main(['-i', str(tmp_path / 'in'), '-o', str(tmp_path / 'out'), '-c', 'rooms'])
    for name, room in zip('ab', sorted(channel_items.ROOMS)[:2]):
        single = tmp_path / room
        channel_items.main(['-i', str(tmp_path / 'in'), '-o', str(single), '-c', room])
        np.testing.assert_array_equal(read(tmp_path / 'out' / 'snr0' / (name + '.wav')),
                                      read(single / 'snr0' / 'a.wav'))
