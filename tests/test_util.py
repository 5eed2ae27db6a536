"""STFT, streaming and patching: exact shapes, lengths and round trips."""
import os
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

import const
import util
from conftest import chirp, harmonic_stack, noise_bursts, write
from test_faults import _dead_pid, _plant


def mask_spectrogram(mask_fn, magnitude, **patching):
    """Mask ``(513, frames)`` for a whole magnitude spectrogram, through the
    same patching as make_separate.py's streaming path."""
    masker = util.PatchMasker(mask_fn, **patching)
    return np.concatenate([masker.push(magnitude), masker.finish()], axis=1)


def reference_stft(x):
    """The suite's STFT before librosa (numpy only): periodic Hann, float32
    frames, ``FFT_SIZE // 2`` zeros at both ends, rfft, complex64."""
    n_fft, hop = const.FFT_SIZE, const.H
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    padded = np.concatenate([np.zeros(n_fft // 2, np.float32), x,
                             np.zeros(n_fft // 2 + hop, np.float32)])
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop][:1 + len(x) // hop]
    return np.fft.rfft(frames * window, axis=1).T.astype(np.complex64)


def reference_istft(spectrum, length):
    """Weighted overlap-add by the definition, float64, centring pad removed."""
    n_fft, hop = const.FFT_SIZE, const.H
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    frames = np.fft.irfft(spectrum.T, n=n_fft, axis=1) * window
    size = max(n_fft + hop * (len(frames) - 1), length + n_fft)
    num, den = np.zeros(size), np.zeros(size)
    for t, frame in enumerate(frames):
        num[t * hop:t * hop + n_fft] += frame
        den[t * hop:t * hop + n_fft] += window ** 2
    out = np.divide(num, den, out=np.zeros(size), where=den > 1e-10)
    return out[n_fft // 2:n_fft // 2 + length]


def si_sdr(reference, estimate):
    reference = reference - reference.mean()
    estimate = estimate - estimate.mean()
    target = np.dot(estimate, reference) / np.dot(reference, reference) * reference
    return 10 * np.log10(np.sum(target ** 2) / np.sum((target - estimate) ** 2))


@pytest.mark.parametrize('n', [1, 511, 512, 513, 16000, 65537])
def test_stft_frame_count_matches_librosa_convention(n):
    assert util.stft(np.zeros(n, np.float32)).shape == (513, 1 + n // 512)


def test_stft_of_a_tone_peaks_at_its_bin():
    freq = 1000.0
    spectrum = util.magnitude(harmonic_stack(1.0, f0=freq, n=1))
    assert np.argmax(spectrum[:, 10]) == round(freq * const.FFT_SIZE / const.SR)


@pytest.mark.parametrize('n', [0, 1, 511, 513, 1023, 1025, 16001, 48007])
def test_stft_equals_the_suite_s_own_numpy_stft(n):
    """librosa's STFT gives the shipped model the same input as before it:
    the same frames to float32 rounding, odd lengths included."""
    x = noise_bursts(n / 16000.0, seed=n) + chirp(n / 16000.0)
    expected = reference_stft(x)
    scale = max(np.abs(expected).max(), 1e-30)
    for got in (util.stft(x), streamed_stft(x, 777), streamed_stft(x, 16000)):
        assert got.shape == expected.shape and got.dtype == np.complex64
        assert np.abs(got - expected).max() <= 1e-5 * scale
    np.testing.assert_allclose(util.magnitude(x), np.abs(expected), rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize('n', [1, 511, 1025, 16001, 48007])
def test_istft_and_streaming_istft_equal_overlap_add(n):
    spectrum = reference_stft(noise_bursts(n / 16000.0, seed=n))
    rng = np.random.default_rng(n)
    spectrum *= rng.random(spectrum.shape)           # a mask: not an STFT any more
    expected = reference_istft(spectrum, n)
    inverse = util.StreamingISTFT(n)
    pieces = [inverse.push(spectrum[:, i:i + 7]) for i in range(0, spectrum.shape[1], 7)]
    streamed = np.concatenate(pieces + [inverse.finish()])
    for got in (util.istft(spectrum, n), streamed):
        assert got.shape == (n,) and got.dtype == np.float32
        assert np.abs(got - expected).max() <= 1e-5 * max(np.abs(expected).max(), 1e-30)


@pytest.mark.parametrize('n', [600, 1001, 16000, 16001, 40000])
def test_istft_inverts_stft(n):
    x = noise_bursts(n / 16000.0)
    np.testing.assert_allclose(util.istft(util.stft(x), n), x, atol=1e-5)


def streamed_stft(x, block):
    stream = util.StreamingSTFT()
    pieces = [stream.push(x[i:i + block]) for i in range(0, len(x), block)] + [stream.finish()]
    return np.concatenate(pieces, axis=1)


def test_streaming_stft_equals_whole_signal_stft():
    x = chirp(3.0)
    np.testing.assert_allclose(streamed_stft(x, 777), util.stft(x), atol=1e-4)


def test_patch_weights_cross_fade_and_never_vanish():
    w = util.patch_weights(128, 16)
    assert w.shape == (128,) and w.min() > 0 and w.max() == 1.0
    np.testing.assert_array_equal(w, w[::-1])          # symmetric
    assert np.all(w[16:112] == 1.0) and np.all(np.diff(w[:17]) > 0)


@pytest.mark.parametrize('frames', [1, 50, 128, 129, 500])
def test_patch_masker_returns_one_mask_per_frame(frames):
    calls = []

    def mask_fn(patches):
        calls.append(patches.shape)
        return np.full_like(patches, 0.25)

    magnitude = np.random.rand(513, frames).astype(np.float32)
    mask = mask_spectrogram(mask_fn, magnitude, batch=2)
    assert mask.shape == (513, frames)
    np.testing.assert_allclose(mask, 0.25, rtol=1e-6)
    assert all(shape[1:] == (1, 512, 128) for shape in calls)


@pytest.mark.parametrize('overlap', [16, const.PATCH_OVERLAP])
def test_patch_masker_cross_fades_neighbouring_patches(overlap):
    seen = []

    def mask_fn(patches):
        out = np.empty_like(patches)
        for b in range(len(patches)):
            seen.append(len(seen))
            out[b] = seen[-1] % 2     # patches alternate between 0 and 1
        return out

    mask = mask_spectrogram(mask_fn, np.ones((513, 400), np.float32), batch=3,
                            length=128, overlap=overlap)
    # the first patch (0) alone at the start, a ramp to the second (1) over
    # their overlap, and the second alone where no third patch reaches
    hop = 128 - overlap
    assert np.all(mask[5, :hop] == 0.0)
    ramp = mask[5, hop:128]
    assert np.all(np.diff(ramp) > 0) and 0 < ramp[0] < ramp[-1] < 1
    assert np.all(mask[5, 128:2 * hop] == 1.0)


def test_load_audio_resamples_and_downmixes(tmp_path):
    stereo = np.stack([harmonic_stack(1.0, 44100), harmonic_stack(1.0, 44100)], axis=1)
    path = write(tmp_path / 'x.wav', stereo, 44100)
    y = util.load_audio(path)
    assert y.dtype == np.float32 and y.shape == (16000,)


def test_write_audio_is_atomic_and_scales_integer_overs(tmp_path):
    path = str(tmp_path / 'loud.wav')
    util.write_audio(path, np.full(100, 2.0, np.float32), subtype='PCM_16')
    import soundfile as sf
    y, _ = sf.read(path)
    assert np.all(np.abs(y) < 1.0) and np.ptp(y) == 0.0
    assert [p.name for p in tmp_path.iterdir()] == ['loud.wav']


def test_phase_sensitive_target_is_bounded_and_exact_at_the_extremes():
    speech = chirp(2.0)
    music = noise_bursts(2.0) + harmonic_stack(2.0, f0=110)
    spec_speech, spec_mix = util.stft(speech), util.stft(speech + music)
    target = util.phase_sensitive_magnitude(spec_speech, spec_mix)
    assert target.shape == (513, 1 + len(speech) // 512) and target.dtype == np.float32
    assert target.min() >= 0 and np.all(target <= np.abs(spec_mix) + 1e-6)
    # speech alone: the target is its magnitude; speech cancelled by an
    # anti-phase copy twice as loud: nothing of it lines up with the mixture
    alone = util.phase_sensitive_magnitude(spec_speech, spec_speech)
    np.testing.assert_allclose(alone, np.abs(spec_speech), rtol=1e-5, atol=1e-6)
    opposed = util.phase_sensitive_magnitude(spec_speech, util.stft(-speech))
    assert opposed.max() == 0.0


def test_phase_sensitive_mask_restores_speech_better_than_magnitude_mask():
    speech = chirp(2.0)
    music = noise_bursts(2.0, amp=1.0) + harmonic_stack(2.0, f0=110, amp=0.9)
    mixture = speech + music           # music well above the speech
    spec_speech, spec_mix = util.stft(speech), util.stft(mixture)
    mix_mag = np.abs(spec_mix)
    masks = {
        'magnitude': np.minimum(np.abs(spec_speech) / mix_mag, 1.0),
        'phase-sensitive': util.phase_sensitive_magnitude(spec_speech, spec_mix) / mix_mag,
    }
    scores = {name: si_sdr(speech, util.istft(mask * spec_mix, len(speech)))
              for name, mask in masks.items()}
    assert scores['phase-sensitive'] > scores['magnitude'] + 0.5, scores


def test_find_audio_follows_linked_folders_once_and_leaves_hidden_ones_out(tmp_path):
    """A linked subfolder's files are found (its audio was missed: "no
    audio files"), a link back up does not loop, and a hidden folder
    (.Trash, .git) is left out as hidden files are."""
    for name in ('top.wav', 'real/a.wav', '.hidden/h.wav', 'real/.b.wav'):
        write(tmp_path / 'in' / name, harmonic_stack(0.1))
    write(tmp_path / 'elsewhere' / 'linked.wav', harmonic_stack(0.1))
    (tmp_path / 'in' / 'link').symlink_to(tmp_path / 'elsewhere')
    (tmp_path / 'in' / 'real' / 'up').symlink_to(tmp_path / 'in')
    found = util.find_audio(str(tmp_path / 'in'))
    assert [os.path.relpath(p, str(tmp_path / 'in')) for p in found] == [
        'link/linked.wav', 'real/a.wav', 'top.wav']


def test_a_linked_folder_keeps_its_real_name_and_a_linked_output_is_left_out(tmp_path):
    """A link that sorts before its target (alias -> zeta) renamed the
    outputs after it, and an output folder linked into the input (in/sep ->
    ../out) was listed as input once linked folders were followed."""
    write(tmp_path / 'in' / 'zeta' / 'x.wav', harmonic_stack(0.1))
    (tmp_path / 'in' / 'alias').symlink_to('zeta')
    write(tmp_path / 'out' / 'x.wav', harmonic_stack(0.1))
    (tmp_path / 'in' / 'sep').symlink_to('../out')
    found = util.find_mixtures(str(tmp_path / 'in'), [str(tmp_path / 'out')])
    assert [os.path.relpath(p, str(tmp_path / 'in')) for p in found] == ['zeta/x.wav']


def test_quiet_decoder_nests(tmp_path):
    """A nested quiet_decoder (an API user wrapping a suite call) hung on
    its lock, with stderr pointed at the null device."""
    path = write(tmp_path / 'a.wav', harmonic_stack(0.2))
    with util.quiet_decoder():
        with util.quiet_decoder():
            assert util.audio_info(path).frames == 3200
    assert os.fstat(2).st_ino != os.stat(os.devnull).st_ino


def test_quiet_decoder_keeps_what_other_threads_write(tmp_path, capfd):
    """stderr pointed at the null device for the whole process while one
    thread decoded: a progress bar or warning another thread wrote then was
    lost. The decoder's notes on a cut MP3 are still left out."""
    full = str(tmp_path / 'full.mp3')
    sf.write(full, harmonic_stack(4.0, sr=48000), 48000, format='MP3')
    with open(full, 'rb') as handle:
        (tmp_path / 'cut.mp3').write_bytes(handle.read()[:9000])
    quiet, written = threading.Event(), threading.Event()

    def other():
        quiet.wait(10)
        os.write(2, b'\rseparating: 50%\nwarning: another thread\n')
        written.set()
    thread = threading.Thread(target=other)
    thread.start()
    with util.quiet_decoder():
        quiet.set()
        assert written.wait(10)
        assert len(list(util.read_blocks(str(tmp_path / 'cut.mp3'), 4096))) > 0
    thread.join()
    assert capfd.readouterr().err == '\rseparating: 50%\nwarning: another thread\n'


@pytest.mark.parametrize('name', ['junk.au', 'junk.snd'])
def test_an_au_file_without_its_header_is_not_read_as_u_law(tmp_path, name):
    """libsndfile reads any bytes named .au as headerless 8 kHz u-law, so a
    damaged or mislabelled file became 'audio' of noise."""
    path = tmp_path / name
    path.write_bytes(np.random.RandomState(0).bytes(20000))
    with pytest.raises(util.AudioError, match='not a readable audio file .no header'):
        util.audio_info(str(path))
    write(tmp_path / 'real.au', harmonic_stack(0.2), subtype='PCM_16')
    assert util.audio_info(str(tmp_path / 'real.au')).frames == 3200


def test_stale_temporaries_that_end_as_their_file_does_are_removed(tmp_path):
    """make_dataset.py stages a pair's files as .NAME.wav.PID.partial.wav and
    .NAME.npz.PID.partial.npz (util.write_audio writes the format of the
    extension): not taken for temporaries, those of a killed run had stayed
    hidden for good. Those of a live process, a fresh one, and names of
    another form stay."""
    dead = _dead_pid()
    cut = os.path.basename(util.temporary_path(str(tmp_path / ('x' * 250 + '.wav'))))
    cut = cut.replace('.{}.partial'.format(os.getpid()), '.{}.partial'.format(dead))
    stale = [_plant(tmp_path, name.format(dead), 3600) for name in (
        '.a.wav.{}.partial.wav', '.a.npz.{}.partial.npz', '.a.speech.wav.{}.partial.wav',
        cut + '.wav')]                  # NAME cut short and hashed
    kept = [_plant(tmp_path, name.format(pid), age) for name, pid, age in (
        ('.b.wav.{}.partial.wav', dead, 0),                 # fresh: another host's?
        ('.c.npz.{}.partial.npz', os.getppid(), 3600),      # its process lives
        ('d.wav.{}.partial.wav', dead, 3600),               # not hidden
        ('.e.wav.partial.wav', dead, 3600),                 # no PID
        ('.f.wav.{}.partial.wav.old', dead, 3600),          # more after the extension
        ('.g.wav.{}.spool', dead, 3600),
        ('.photo.{}.partial.jpg', dead, 3600),              # another program's hidden files
        ('.cache.{}.partial.db', dead, 3600))]
    assert sorted(util.remove_stale_temporaries(str(tmp_path))) == sorted(stale)
    assert sorted(os.listdir(str(tmp_path))) == sorted(os.path.basename(p) for p in kept)


def test_quiet_decoder_gives_stderr_back_when_the_flush_is_interrupted(monkeypatch):
    """The flush before stderr was pointed back could raise (a second Ctrl-C,
    a replaced sys.stderr), and stderr then stayed on the unlinked temporary
    file for the rest of the process: every later line was lost."""
    before = os.fstat(2).st_ino

    class Failing:
        calls = 0

        def flush(self):
            Failing.calls += 1
            if Failing.calls == 2:          # the flush on the way out
                raise KeyboardInterrupt

        def write(self, text):
            return len(text)
    monkeypatch.setattr(sys, 'stderr', Failing())
    with pytest.raises(KeyboardInterrupt):
        with util.quiet_decoder():
            pass
    assert os.fstat(2).st_ino == before


@pytest.mark.parametrize('line', [b'[src/libmpg123/parse.c:wetwork():1365] error: Giving up\n',
                                  b'[../src/libmpg123/layer3.c:III_dequantize_sample():1] x\n',
                                  b'[/build/mpg123/src/libmpg123/parse.c:skip_junk():1] y\n'])
def test_the_decoders_lines_are_left_out_whatever_its_source_path(line, tmp_path):
    """libmpg123 names its source file as its build gave it (src/, ../src/,
    an absolute path); only src/ had been recognised."""
    out = tmp_path / 'err'
    with open(out, 'wb') as handle:
        util._pass_on(line + b'warning: ours\n', handle.fileno())
    assert out.read_bytes() == b'warning: ours\n'
