"""Fuzzing make_separate.py with odd but plausible inputs.

Random lengths (0 to 3 s), rates (8 to 96 kHz), channel counts (1 to 4),
amplitudes (silence, tiny, beyond full scale), sample formats, and damaged
files (cut short, or bytes overwritten in the header or the data). Each run
must either write a finite output of exactly the expected length (status 0)
or fail in one line on stderr (status 1) with nothing under the output's
name; no run may leave a temporary ``*.partial`` file. Hypothesis runs
derandomised, so the examples are the same on every machine.
"""
import os
import struct
import tempfile

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import tone, write

import decoding  # noqa: E402
import make_separate  # noqa: E402
import network  # noqa: E402

SR = 16000
RATES = [8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000]


@st.composite
def inputs(draw):
    """``dict`` describing one input file and the options it is run with."""
    rate = draw(st.one_of(st.sampled_from(RATES), st.integers(8000, 96000)))
    frames = draw(st.one_of(st.integers(0, 1200), st.integers(0, 3 * rate)))
    amplitude = draw(st.sampled_from([0.0, 1e-7, 1e-3, 0.5, 1.0, 1.7, 30.0]))
    float_only = amplitude > 1.0
    subtype = 'FLOAT' if float_only else draw(st.sampled_from(['PCM_16', 'PCM_24', 'FLOAT']))
    flac_ok = subtype != 'FLOAT' and rate in RATES      # libFLAC's encoder is choosy
    ext = draw(st.sampled_from(['.wav', '.wav', '.flac'])) if flac_ok else '.wav'
    damage = draw(st.sampled_from(['none', 'none', 'cut', 'header', 'data']))
    return dict(
        rate=rate, frames=frames, amplitude=amplitude, subtype=subtype, ext=ext,
        channels=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2 ** 16)),
        damage=damage,
        where=draw(st.floats(0.0, 1.0)),
        patch=draw(st.binary(min_size=1, max_size=8)),
        options=draw(st.sampled_from([[], [], ['--sr'], ['--subtype', 'PCM_16'],
                                      ['--sr', '--subtype', 'PCM_24'], ['--hard-mask']])))


def make_input(case, folder):
    """Write the case's file (then damage it); its path."""
    rng = np.random.default_rng(case['seed'])
    n, rate = case['frames'], case['rate']
    t = np.arange(n) / rate
    signal = np.stack([np.sin(2 * np.pi * (150 + 97 * c) * t) + 0.3 * rng.standard_normal(n)
                       for c in range(case['channels'])], axis=1)
    signal *= case['amplitude'] / max(1e-12, float(np.max(np.abs(signal), initial=0.0)) or 1)
    path = os.path.join(folder, 'in' + case['ext'])
    write(path, signal.astype(np.float32), sr=rate, subtype=case['subtype'])
    data = bytearray(open(path, 'rb').read())
    if case['damage'] == 'cut':
        data = data[:int(case['where'] * len(data))]
    elif case['damage'] in ('header', 'data'):
        head = min(len(data), 64)
        start = (int(case['where'] * head) if case['damage'] == 'header'
                 else head + int(case['where'] * max(0, len(data) - head)))
        data[start:start + len(case['patch'])] = case['patch']
    with open(path, 'wb') as handle:
        handle.write(bytes(data))
    return path


def expected(path, options):
    """``(rate, frames)`` the output must have, from what libsndfile reads
    (or, of a file it cannot read or reads as empty, what ffmpeg decodes)."""
    info = decoding.audio_info(path) if decoding.needs_decoding(path) else sf.info(path)
    if '--sr' in options:
        return info.samplerate, info.frames
    return SR, int(round(info.frames * SR / info.samplerate))


@pytest.fixture(scope='module')
def cached_model(model_path):
    """Load the random model once: the fuzz is about inputs, not model files."""
    unet = network.load_unet(model_path)
    real = network.load_unet

    def load(path):
        return unet if path == model_path else real(path)
    return load


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=inputs())
def test_fuzz_separate(case, tmp_path, capsys, model_path, cached_model, monkeypatch):
    monkeypatch.setattr(make_separate.network, 'load_unet', cached_model)
    with tempfile.TemporaryDirectory(dir=str(tmp_path)) as folder:
        source = make_input(case, folder)
        status = check_run(source, folder, case['options'], model_path, capsys)
        if case['damage'] == 'none':
            # an undamaged file fails only when it holds no samples
            assert status == 0 or case['frames'] == 0
            if status == 0 and case['amplitude'] == 0.0:
                out, _ = sf.read(os.path.join(folder, 'out', 'speech.wav'))
                assert not np.any(out)


def check_run(source, folder, options, model_path, capsys):
    """Separate ``source`` into ``folder/out``; check the outcome; its status."""
    target = os.path.join(folder, 'out', 'speech.wav')
    capsys.readouterr()
    status = make_separate.main(['-i', source, '-o', target, '-m', model_path] + options)
    _, err = capsys.readouterr()
    partial = [name for _, _, names in os.walk(folder) for name in names
               if '.partial' in name]
    assert not partial, partial
    if status == 0:
        rate, frames = expected(source, options)
        info = sf.info(target)
        assert (info.samplerate, info.frames, info.channels) == (rate, frames, 1)
        out, _ = sf.read(target, dtype='float32')
        assert np.all(np.isfinite(out))
    else:
        assert status == 1, err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith('make_separate.py: error: '), err
        assert not os.path.exists(target)
    return status


def _damaged_headers(good, rng):
    """``(label, bytes)``: the wav with 4 random bytes at every even offset
    of its first 64, the rate field set to odd values, and cut at many sizes."""
    for offset in range(0, 64, 2):
        data = bytearray(good)
        data[offset:offset + 4] = rng.bytes(4)
        yield 'overwrite@{}'.format(offset), bytes(data)
    # (rates below const.MIN_SAMPLE_RATE are refused as damaged headers)
    for rate in (0, 7, 999, 1000, 10 ** 7, 2 ** 31 - 1, 2 ** 32 - 1):
        data = bytearray(good)
        data[24:28] = struct.pack('<I', rate)
        yield 'rate={}'.format(rate), bytes(data)
    for size in (0, 1, 4, 8, 12, 16, 20, 24, 36, 40, 43, 44, 45, 46, 100, len(good) // 2,
                 len(good) - 1):
        yield 'cut@{}'.format(size), good[:size]


@pytest.mark.parametrize('subtype', ['PCM_16', 'FLOAT'])
def test_damaged_wav_headers(subtype, tmp_path, capsys, model_path, cached_model, monkeypatch):
    """A seeded sweep over a stereo 22.05 kHz wav's header."""
    monkeypatch.setattr(make_separate.network, 'load_unet', cached_model)
    good_path = write(str(tmp_path / 'good.wav'),
                      np.stack([tone(0.4, 22050), tone(0.4, 22050, 300)], axis=1),
                      sr=22050, subtype=subtype)
    good = open(good_path, 'rb').read()
    outcomes = set()
    for label, data in _damaged_headers(good, np.random.default_rng(7)):
        with tempfile.TemporaryDirectory(dir=str(tmp_path)) as folder:
            source = os.path.join(folder, 'in.wav')
            with open(source, 'wb') as handle:
                handle.write(data)
            # one separation a file: the sweep is about the header, not the views
            outcomes.add(check_run(source, folder, ['--shifts', '1', '--speeds', '1'],
                                   model_path, capsys))
    assert outcomes == {0, 1}       # some damage is survivable, some is not
