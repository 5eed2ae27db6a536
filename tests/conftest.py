"""Shared fixtures: synthetic audio and a small random model, made per test.

No test reads the shared corpus or the shipped model; every signal is made
here (tones, chirps, noise bursts, harmonic stacks) in ``tmp_path``.
"""
import csv
import os
import sys

import numpy as np
import pytest
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import compat  # noqa: E402,F401
import chainer  # noqa: E402
import network  # noqa: E402


def tone(seconds, sr=16000, freq=440.0, amp=0.3):
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chirp(seconds, sr=16000, f0=200.0, f1=3000.0, amp=0.3):
    t = np.arange(int(round(seconds * sr))) / sr
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * max(seconds, 1e-9)))
    return (amp * np.sin(phase)).astype(np.float32)


def harmonic_stack(seconds, sr=16000, f0=150.0, n=8, amp=0.3):
    t = np.arange(int(round(seconds * sr))) / sr
    out = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, n + 1))
    return (amp * out / np.max(np.abs(out) + 1e-9)).astype(np.float32)


def noise_bursts(seconds, sr=16000, seed=0, amp=0.2):
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    gate = (np.arange(n) // (sr // 4)) % 2 == 0
    return (amp * rng.standard_normal(n) * gate).astype(np.float32)


def low_band_mask(patches):
    """Speech below 2 kHz, music above: a mask of 1 and 0 by frequency."""
    mask = np.zeros_like(patches)
    mask[:, :, :2000 * 1024 // 16000] = 1.0
    return mask


def high_noise(seconds, seed=1):
    """White noise above 3 kHz, as loud as ``harmonic_stack``."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(round(seconds * 16000)))
    spectrum[:3000 * len(spectrum) // 8000] = 0
    noise = np.fft.irfft(spectrum, round(seconds * 16000))
    return (0.15 * noise / np.std(noise)).astype(np.float32)


def read_rows(path):
    """The rows of the CSV file at ``path``, as dicts of its header."""
    with open(path, newline='') as handle:
        return list(csv.DictReader(handle))


def energy(signal):
    """The sum of squares of ``signal``, in float64."""
    return float(np.sum(np.asarray(signal, np.float64) ** 2))


def write(path, signal, sr=16000, subtype='FLOAT'):
    os.makedirs(os.path.dirname(str(path)) or '.', exist_ok=True)
    sf.write(str(path), signal, sr, subtype=subtype)
    return str(path)


def refusal(main, prog, argv, capsys):
    """The one stderr line of ``main(argv)``, a script that must refuse
    ``argv`` with status 1 and a single ``prog: error: ...`` line."""
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and err.startswith(prog + ': error: '), err
    return err


def make_npz(folder, count=3, frames=140, seed=0):
    """``count`` npz files as make_dataset.py writes: mix, vocal, inst (513, frames)."""
    rng = np.random.default_rng(seed)
    os.makedirs(str(folder), exist_ok=True)
    for k in range(count):
        mix = rng.random((513, frames), dtype=np.float32)
        vocal = mix * rng.random((513, frames), dtype=np.float32)
        np.savez(os.path.join(str(folder), 'item{}.npz'.format(k)),
                 mix=mix, vocal=vocal, inst=mix - vocal)
    return str(folder)


@pytest.fixture(scope='session')
def model_path(tmp_path_factory):
    """A randomly initialised U-Net saved as an npz, like unet.model."""
    np.random.seed(0)
    path = tmp_path_factory.mktemp('model') / 'random.model'
    chainer.serializers.save_npz(str(path), network.UNet(), compression=False)
    return str(path)


@pytest.fixture
def speech_music_dirs(tmp_path):
    """Two 'music' and two 'speech' files of 3 s at 22 050 Hz, as GTZAN."""
    sr = 22050
    music = tmp_path / 'music_speech' / 'music_wav'
    speech = tmp_path / 'music_speech' / 'speech_wav'
    write(music / 'm1.wav', harmonic_stack(3, sr, 110), sr, 'PCM_16')
    write(music / 'm2.wav', noise_bursts(3, sr), sr, 'PCM_16')
    write(speech / 's1.wav', chirp(3, sr), sr, 'PCM_16')
    write(speech / 's2.wav', tone(3.5, sr, 300), sr, 'PCM_16')
    return str(music), str(speech)
