"""Bad input, faults and interruptions: a clear error, and nothing lost.

Every case drives a real CLI through its ``main([...])`` (which returns the
exit status) and reads stderr with ``capsys``; Ctrl-C and SIGTERM are sent
to a subprocess. A user mistake must end in exactly one line
``prog: error: ...`` and status 1, leave no ``*.partial`` file behind and
nothing under the final output name. All audio is synthetic and short; the
model is the random U-Net of ``conftest.model_path``.
"""
import csv
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import chainer
import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, tone, write

import cli  # noqa: E402
import interrupts  # noqa: E402
import make_dataset  # noqa: E402
import make_separate  # noqa: E402
import network  # noqa: E402
import train  # noqa: E402
import util  # noqa: E402

SR = 16000


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    """One-line errors, whatever the caller's environment says."""
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)


# --------------------------------------------------------------------------
# Helpers

def run(module, argv, capsys):
    """``(status, stdout, stderr)`` of ``module.main(argv)``."""
    capsys.readouterr()
    status = module.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def error_line(err, prog):
    """The one error line of ``err``; fails unless there is exactly one line."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, 'expected one line on stderr, got:\n' + err
    assert lines[0].startswith(prog + ': error: '), lines[0]
    return lines[0]


def leftovers(folder):
    """Temporary files (``.NAME.PID.partial`` and ``...partial.final``) below ``folder``."""
    return [os.path.join(root, name) for root, _, names in os.walk(str(folder))
            for name in names if '.partial' in name]


def separate(capsys, model, *argv):
    return run(make_separate, list(argv) + ['-m', model], capsys)


def assert_failed(status, err, prog='make_separate.py', names=(), missing=()):
    """Status 1, one error line naming each of ``names``, no file in ``missing``."""
    assert status == 1
    line = error_line(err, prog)
    for name in names:
        assert str(name) in line, line
    for path in missing:
        assert not os.path.exists(str(path)), path
    return line


# --------------------------------------------------------------------------
# make_separate.py: inputs

def test_missing_input(tmp_path, capsys, model_path):
    status, _, err = separate(capsys, model_path, '-i', tmp_path / 'nope.wav',
                              '-o', tmp_path / 'out.wav')
    assert_failed(status, err, names=['nope.wav', 'no such file'],
                  missing=[tmp_path / 'out.wav'])


@pytest.mark.parametrize('option, value', [('--shifts', '0'), ('--shifts', '17'),
                                           ('--batch', '0'), ('--overlap', '128'),
                                           ('--patch-length', '100'), ('--patch-length', '0'),
                                           ('--patch-length', '4096')])
def test_out_of_range_settings(option, value, tmp_path, capsys, model_path):
    source = write(tmp_path / 'in.wav', tone(1.0))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav',
                              option, value)
    assert_failed(status, err, names=['{} {}'.format(option, value), 'must be'],
                  missing=[tmp_path / 'out.wav'])


def test_short_patches_share_half_a_patch_unless_told(tmp_path, capsys, model_path):
    """--patch-length 64 alone shares 32 frames (the default 64 would not
    fit); an --overlap given that does not fit is still refused."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    status, out, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav',
                                '--patch-length', '64', '--shifts', '1', '--speeds', '1')
    assert status == 0, err
    assert '# patches: 64 frames, 32 shared' in out
    assert sf.info(str(tmp_path / 'out.wav')).frames == SR
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out2.wav',
                              '--patch-length', '64', '--overlap', '64')
    assert_failed(status, err, names=['--overlap 64', 'must be'],
                  missing=[tmp_path / 'out2.wav'])


def test_empty_folder(tmp_path, capsys, model_path):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'notes.txt').write_text('not audio, and not .wav')
    status, _, err = separate(capsys, model_path, '-i', tmp_path / 'empty',
                              '-o', tmp_path / 'out')
    assert_failed(status, err, names=['empty', 'no audio files'])
    assert not leftovers(tmp_path)


def test_folder_of_references_only(tmp_path, capsys, model_path):
    write(tmp_path / 'refs' / 'a.speech.wav', tone(1.0))
    write(tmp_path / 'refs' / 'a.music.wav', tone(1.0, freq=220.0))
    status, _, err = separate(capsys, model_path, '-i', tmp_path / 'refs',
                              '-o', tmp_path / 'out')
    assert_failed(status, err, names=['refs', 'only references', '2 files'])


def _not_audio(kind, path):
    if kind == 'text':
        path.write_text('this is a text file, not a wav\n' * 20)
    elif kind == 'random':
        path.write_bytes(np.random.default_rng(0).bytes(4000))
    elif kind == 'truncated-header':
        write(path, tone(0.5))
        path.write_bytes(path.read_bytes()[:30])
    elif kind == 'empty-file':
        path.write_bytes(b'')


@pytest.mark.parametrize('kind', ['text', 'random', 'truncated-header', 'empty-file'])
def test_not_audio(kind, tmp_path, capsys, model_path):
    source = tmp_path / 'in.wav'
    _not_audio(kind, source)
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert_failed(status, err, names=[source], missing=[tmp_path / 'out.wav'])
    assert not leftovers(tmp_path)


def test_truncated_data_keeps_what_is_there(tmp_path, capsys, model_path):
    """A wav cut inside its data: libsndfile reads the samples present."""
    source = write(tmp_path / 'in.wav', tone(1.0), subtype='PCM_16')
    data = open(source, 'rb').read()
    open(source, 'wb').write(data[:44 + 2 * 1000 + 1])     # 1000 samples and a half
    frames = sf.info(source).frames
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert status == 0, err
    out, rate = sf.read(str(tmp_path / 'out.wav'))
    assert rate == SR and len(out) == frames and np.all(np.isfinite(out))


def cut_compressed(path, seconds=6.0, rate=44100):
    """A stereo Ogg Vorbis or MP3 file (by ``path``'s extension) cut to a
    third of its bytes, as a download cut short; returns the samples per
    channel that still decode."""
    music = 0.2 * np.random.default_rng(5).standard_normal((int(seconds * rate), 2))
    with sf.SoundFile(str(path), 'w', rate, 2) as handle:
        handle.write(music)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3])
    decoded = 0
    with sf.SoundFile(str(path)) as handle:
        while len(block := handle.read(4096)):
            decoded += len(block)
    assert 0 < decoded < len(music) // 2
    return decoded


@pytest.mark.parametrize('extension', ['ogg', 'mp3'])
def test_compressed_file_cut_short_gives_what_decodes(extension, tmp_path, capsys,
                                                      model_path):
    """An Ogg stream cut short claims 2**63 - 1 samples, an MP3 the length of
    the whole: both are separated as far as they decode, with a warning,
    and a folder run goes on to the next file."""
    source = tmp_path / 'in' / 'a_cut.{}'.format(extension)
    source.parent.mkdir()
    decoded = cut_compressed(source)
    write(tmp_path / 'in' / 'b.wav', tone(1.0))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav',
                              '--sr', '--shifts', '1', '--speeds', '1')
    assert status == 0, err
    out, rate = sf.read(str(tmp_path / 'out.wav'))
    assert rate == 44100 and len(out) == decoded and np.all(np.isfinite(out))
    warnings = [line for line in err.splitlines() if line.startswith('warning: ')]
    assert len(warnings) == 1 and str(source) in warnings[0] and 'cut short' in warnings[0]
    status, _, err = separate(capsys, model_path, '-i', tmp_path / 'in', '-o', tmp_path / 'out',
                              '--shifts', '1', '--speeds', '1')
    assert status == 0, err
    assert sorted(os.listdir(str(tmp_path / 'out'))) == ['a_cut.wav', 'b.wav']
    assert len(sf.read(str(tmp_path / 'out' / 'b.wav'))[0]) == SR


def test_an_mp3_with_a_large_id3_tag_cut_short_is_still_warned_of(tmp_path, capsys):
    """Cover art (an ID3v2 tag of 200 kB) put the Info header past the bytes
    searched for it, so a cut file's length was taken for a guess and the
    'cut short?' warning was lost."""
    plain = tmp_path / 'plain.mp3'
    decoded = cut_compressed(plain)
    body = 200000
    size = bytes((body >> shift) & 0x7F for shift in (21, 14, 7, 0))
    tagged = tmp_path / 'tagged.mp3'
    tagged.write_bytes(b'ID3\x04\x00\x00' + size + bytes(body) + plain.read_bytes())
    capsys.readouterr()
    assert util.audio_info(str(tagged)).frames == decoded
    assert 'a file cut short?' in capsys.readouterr().err
    assert util.id3_size(b'ID3\x04\x00\x10' + size) == 10 + body + 10     # with a footer
    assert util.id3_size(b'RIFF\x00\x00\x00\x00\x00\x00') == 0


def test_a_flac_cut_short_says_so_in_plain_words(tmp_path, capsys, model_path):
    """libsndfile stops a FLAC download cut short with "Internal psf_fseek()
    failed."; the line says what that means for the user."""
    source = tmp_path / 'cut.flac'
    music = 0.2 * np.random.default_rng(5).standard_normal((3 * 44100, 2))
    sf.write(str(source), music, 44100, subtype='PCM_24')
    source.write_bytes(source.read_bytes()[:100000])
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    line = assert_failed(status, err, names=[source, 'decoding failed'],
                         missing=[tmp_path / 'out.wav'])
    assert line.endswith('the file is cut short or damaged; repair or re-export it')


def test_whole_compressed_file_is_counted_without_warning(tmp_path, capsys):
    source = tmp_path / 'whole.ogg'
    with sf.SoundFile(str(source), 'w', 22050, 1) as handle:
        handle.write(tone(2.0, 22050))
    capsys.readouterr()
    assert util.audio_info(str(source)).frames == 44100
    assert len(util.load_audio(str(source))) == 2 * SR
    assert capsys.readouterr().err == ''


def test_zero_length_audio(tmp_path, capsys, model_path):
    source = write(tmp_path / 'zero.wav', np.zeros(0, np.float32))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert_failed(status, err, names=[source, 'no samples'], missing=[tmp_path / 'out.wav'])
    assert not leftovers(tmp_path)


@pytest.mark.parametrize('n', [1, 100, 511, 1023])
def test_shorter_than_a_frame(n, tmp_path, capsys, model_path):
    source = write(tmp_path / 'short.wav', tone(n / SR))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert status == 0, err
    out, rate = sf.read(str(tmp_path / 'out.wav'))
    assert rate == SR and len(out) == n
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize('hard', [False, True])
def test_silence_gives_silence(hard, tmp_path, capsys, model_path):
    source = write(tmp_path / 'silent.wav', np.zeros(SR + 123, np.float32))
    flags = ['--hard-mask'] if hard else []
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav',
                              '--music-out', tmp_path / 'music.wav', *flags)
    assert status == 0, err
    for name in ('out.wav', 'music.wav'):
        out, _ = sf.read(str(tmp_path / name))
        assert len(out) == SR + 123
        assert np.all(out == 0.0)


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize('where', [10, SR * 2 - 5])
def test_non_finite_samples_rejected(bad, where, tmp_path, capsys, model_path):
    signal_ = tone(2.0)
    signal_[where] = bad
    source = write(tmp_path / 'bad.wav', signal_)
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert_failed(status, err, names=[source, 'NaN or Inf'], missing=[tmp_path / 'out.wav'])
    assert not leftovers(tmp_path)


def test_double_samples_beyond_float_range_rejected(tmp_path, capsys, model_path):
    signal_ = tone(1.0).astype(np.float64)
    signal_[100] = 1e200          # finite as a double, infinite as a float
    source = write(tmp_path / 'huge.wav', signal_, subtype='DOUBLE')
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert_failed(status, err, names=[source, 'too large for 32-bit floats'],
                  missing=[tmp_path / 'out.wav'])


def test_beyond_full_scale(tmp_path, capsys, model_path):
    """A float wav peaking at 4: the FLOAT estimate keeps its level (no
    clipping), the PCM_16 one is the same signal scaled to fit."""
    source = write(tmp_path / 'loud.wav', tone(1.5, amp=4.0))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'float.wav')
    assert status == 0, err
    assert sf.info(str(tmp_path / 'float.wav')).subtype == 'FLOAT'
    full, _ = sf.read(str(tmp_path / 'float.wav'), dtype='float32')
    peak = np.max(np.abs(full))
    assert peak > 1.0            # not clipped to full scale
    assert np.sum(np.abs(full) >= 0.999 * peak) < 10    # and no clipped plateau

    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'pcm.wav',
                              '--subtype', 'PCM_16')
    assert status == 0, err
    assert 'scaled' in err
    pcm, _ = sf.read(str(tmp_path / 'pcm.wav'), dtype='float32')
    assert sf.info(str(tmp_path / 'pcm.wav')).subtype == 'PCM_16'
    assert np.max(np.abs(pcm)) <= 1.0
    np.testing.assert_allclose(pcm, full * (0.999 / peak), atol=2.0 / 32768)


@pytest.mark.parametrize('channels', [2, 6])
def test_multichannel(channels, tmp_path, capsys, model_path):
    n = SR + 77
    data = np.stack([tone(n / SR, freq=200 * (c + 1)) for c in range(channels)], axis=1)
    source = write(tmp_path / 'multi.wav', data, subtype='PCM_16')
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert status == 0, err
    info = sf.info(str(tmp_path / 'out.wav'))
    assert (info.channels, info.samplerate, info.frames) == (1, SR, n)


@pytest.mark.parametrize('rate', [8000, 44100, 96000])
def test_unusual_rates(rate, tmp_path, capsys, model_path):
    n = int(1.3 * rate) + 7
    source = write(tmp_path / 'in.wav', tone(n / rate, sr=rate), sr=rate, subtype='PCM_16')
    assert sf.info(source).frames == n
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out16.wav')
    assert status == 0, err
    info = sf.info(str(tmp_path / 'out16.wav'))
    assert (info.samplerate, info.frames) == (SR, round(n * SR / rate))

    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'outsr.wav',
                              '--sr')
    assert status == 0, err
    info = sf.info(str(tmp_path / 'outsr.wav'))
    assert (info.samplerate, info.frames) == (rate, n)
    out, _ = sf.read(str(tmp_path / 'outsr.wav'))
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize('how', ['--debug', 'SPEECHSEP_DEBUG=1'])
def test_debug_shows_the_traceback(how, tmp_path, capsys, model_path, monkeypatch):
    source = tmp_path / 'in.wav'
    source.write_text('not audio')
    argv = ['-i', source, '-o', tmp_path / 'out.wav']
    if how == '--debug':
        argv.append('--debug')
    else:
        monkeypatch.setenv('SPEECHSEP_DEBUG', '1')
    with pytest.raises(util.AudioError, match='in.wav'):
        separate(capsys, model_path, *argv)
    monkeypatch.setenv('SPEECHSEP_DEBUG', '0')
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert_failed(status, err, names=['in.wav'])


@pytest.mark.parametrize('script', ['make_dataset', 'train', 'evaluate'])
def test_every_script_takes_debug(script, tmp_path, capsys, monkeypatch):
    """The scripts share cli.main: one line and status 1, or with --debug the
    error itself (its traceback)."""
    monkeypatch.setenv('SPEECHSEP_DEBUG', '0')
    module = __import__(script)
    missing = str(tmp_path / 'nowhere')
    argv = {'make_dataset': ['-m', missing, '-s', missing, '-t', str(tmp_path / 't'),
                             '-o', str(tmp_path / 'o')],
            'train': ['-t', missing, '-o', str(tmp_path / 'r')],
            'evaluate': ['-i', missing, '--oracle', 'irm']}[script]
    assert module.main(argv) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'nowhere' in err and 'error' in err, err
    with pytest.raises(Exception, match='nowhere'):
        module.main(argv + ['--debug'])


# --------------------------------------------------------------------------
# make_separate.py: outputs

def test_output_folder_under_a_file(tmp_path, capsys, model_path):
    """Works as root too: no one can make a folder below a regular file."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    (tmp_path / 'file').write_text('a regular file')
    target = tmp_path / 'file' / 'sub' / 'out.wav'
    status, _, err = separate(capsys, model_path, '-i', source, '-o', target)
    assert_failed(status, err, names=['file', 'cannot create'], missing=[target])


@pytest.mark.skipif(hasattr(os, 'geteuid') and os.geteuid() == 0,
                    reason='running as root: chmod does not stop root writing '
                           '(see test_output_folder_not_writable_as_reported and '
                           'test_output_folder_under_a_file)')
def test_output_folder_read_only(tmp_path, capsys, model_path):
    source = write(tmp_path / 'in.wav', tone(1.0))
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0o555)
    try:
        status, _, err = separate(capsys, model_path, '-i', source, '-o', locked / 'out.wav')
    finally:
        locked.chmod(0o755)
    assert_failed(status, err, names=['locked'], missing=[locked / 'out.wav'])
    assert not leftovers(tmp_path)


def test_output_folder_not_writable_as_reported(tmp_path, capsys, model_path, monkeypatch):
    """The non-root case without chmod: the OS says the folder is read-only."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    locked = tmp_path / 'locked'
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode, **kw: False
                        if os.path.realpath(path) == str(locked) and mode & os.W_OK
                        else real_access(path, mode, **kw))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', locked / 'out.wav')
    assert_failed(status, err, names=['locked', 'not writable'], missing=[locked / 'out.wav'])


def _fail_after(calls, exc):
    """A replacement that raises ``exc`` from the ``calls``-th call on."""
    state = {'n': 0}

    def decorate(real):
        def wrapper(*args, **kwargs):
            state['n'] += 1
            if state['n'] >= calls:
                raise exc
            return real(*args, **kwargs)
        return wrapper
    return decorate


@pytest.mark.parametrize('subtype', ['FLOAT', 'PCM_16'])
def test_disk_full_while_writing(subtype, tmp_path, capsys, model_path, monkeypatch):
    """Writing the samples fails (ENOSPC): one line naming the output, no
    partial file, nothing under the final name."""
    source = write(tmp_path / 'in.wav', tone(2.0))
    full = OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(sf.SoundFile, 'write', _fail_after(1, full)(sf.SoundFile.write))
    target = tmp_path / 'out' / 'speech.wav'
    status, _, err = separate(capsys, model_path, '-i', source, '-o', target,
                              '--subtype', subtype)
    assert_failed(status, err, names=[target, 'No space left'], missing=[target])
    assert not leftovers(tmp_path)


@pytest.mark.parametrize('music_out', [False, True])
def test_too_little_disk_space_is_refused_before_separating(music_out, tmp_path, capsys,
                                                            model_path, monkeypatch):
    """200 kB free: 2 s of speech (128 kB of float samples while it is
    made) fits; with --music-out, twice that does not, and the run stops at
    once with one line and nothing written or separated."""
    source = write(tmp_path / 'in.wav', tone(2.0))
    usage = shutil.disk_usage(str(tmp_path))
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage._replace(free=200000))
    streams = []
    stream = make_separate.Separator.stream
    monkeypatch.setattr(make_separate.Separator, 'stream',
                        lambda self, *a: streams.append(1) or stream(self, *a))
    target, music = tmp_path / 'out' / 'speech.wav', tmp_path / 'out' / 'music.wav'
    extra = ['--music-out', music] if music_out else []
    status, _, err = separate(capsys, model_path, '-i', source, '-o', target, *extra)
    if not music_out:
        assert status == 0 and target.exists()
        return
    line = assert_failed(status, err, names=[target, 'not enough disk space', '256.0 kB',
                                             '200.0 kB'], missing=[target, music])
    assert 'float' in line and not streams
    assert not leftovers(tmp_path)


def test_a_file_system_of_no_size_is_not_called_full(tmp_path, monkeypatch):
    """/proc reports 0 bytes free of 0: writing there is what fails, not space."""
    usage = shutil.disk_usage(str(tmp_path))
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage._replace(total=0, free=0))
    util.check_free_space([(str(tmp_path / 'x.wav'), 10 ** 6)])          # no error
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage._replace(free=0))
    with pytest.raises(util.OutputError, match='not enough disk space'):
        util.check_free_space([(str(tmp_path / 'x.wav'), 10 ** 6)])


def test_rename_fails(tmp_path, capsys, model_path, monkeypatch):
    source = write(tmp_path / 'in.wav', tone(1.0))
    monkeypatch.setattr(os, 'replace', _fail_after(
        1, OSError(errno.EXDEV, 'Invalid cross-device link'))(os.replace))
    target = tmp_path / 'out.wav'
    status, _, err = separate(capsys, model_path, '-i', source, '-o', target)
    assert_failed(status, err, names=[target, 'cannot write'], missing=[target])
    assert not leftovers(tmp_path)


def test_temporary_path_taken(tmp_path, capsys, model_path):
    """The temporary name cannot be opened (a folder is in the way)."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    blocker = tmp_path / '.out.wav.{}.partial'.format(os.getpid())
    blocker.mkdir()
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    assert_failed(status, err, names=['out.wav', 'cannot write'],
                  missing=[tmp_path / 'out.wav'])
    assert blocker.is_dir()       # not ours to remove


def test_second_output_fails(tmp_path, capsys, model_path):
    """--music-out cannot be opened after the speech output was: the speech
    output's temporary file goes too."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    (tmp_path / '.music.wav.{}.partial'.format(os.getpid())).mkdir()
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'speech.wav',
                              '--music-out', tmp_path / 'music.wav')
    assert_failed(status, err, names=['music.wav', 'cannot write'],
                  missing=[tmp_path / 'speech.wav', tmp_path / 'music.wav'])
    assert not leftovers(tmp_path)


def test_second_output_fails_at_the_end(tmp_path, capsys, model_path, monkeypatch):
    """The music output's conversion to 16-bit fails once both streams are
    written: neither output appears, so no speech file lacks its music twin."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    real = make_separate.AudioSink.finalize

    def finalize(sink, *args):
        if sink.path.endswith('music.wav'):
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real(sink, *args)
    monkeypatch.setattr(make_separate.AudioSink, 'finalize', finalize)
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'speech.wav',
                              '--music-out', tmp_path / 'music.wav', '--subtype', 'PCM_16')
    assert_failed(status, err, names=['music.wav', 'No space left'],
                  missing=[tmp_path / 'speech.wav', tmp_path / 'music.wav'])
    assert not leftovers(tmp_path)


def test_output_is_input(tmp_path, capsys, model_path):
    source = write(tmp_path / 'in.wav', tone(1.0))
    before = open(source, 'rb').read()
    status, _, err = separate(capsys, model_path, '-i', source, '-o', source, '--overwrite')
    assert_failed(status, err, names=['in.wav', 'the output is the input'])
    assert open(source, 'rb').read() == before
    # the same through a folder: -o of the input file's folder
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path, '--overwrite')
    assert_failed(status, err, names=['in.wav', 'the output is the input', 'another -o'])
    assert open(source, 'rb').read() == before
    # and as the music: the message names the option that was given
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'speech.wav',
                              '--music-out', source, '--overwrite')
    assert_failed(status, err, names=['in.wav', 'the output is the input', 'another --music-out'],
                  missing=[tmp_path / 'speech.wav'])
    assert open(source, 'rb').read() == before


@pytest.mark.parametrize('option', ['-o', '--music-out'])
def test_output_named_as_an_existing_file_that_is_not_audio(option, tmp_path, capsys,
                                                             model_path):
    source = write(tmp_path / 'in' / 'a.wav', tone(1.0))
    notes = tmp_path / 'notes.txt'
    notes.write_text('keep me')
    for given in (source, tmp_path / 'in'):
        outputs = ['-o', notes] if option == '-o' else ['-o', tmp_path / 'out',
                                                        '--music-out', notes]
        status, _, err = separate(capsys, model_path, '-i', given, *outputs)
        assert_failed(status, err, names=['{} {}'.format(option, notes),
                                          'is a file without an audio extension'])
        assert notes.read_text() == 'keep me'


def test_output_folder_is_input_folder(tmp_path, capsys, model_path):
    write(tmp_path / 'mix' / 'a.wav', tone(1.0))
    status, _, err = separate(capsys, model_path, '-i', tmp_path / 'mix',
                              '-o', tmp_path / 'mix')
    assert_failed(status, err, names=['mix', 'the output folder is the input folder'])


@pytest.mark.parametrize('option', ['-o', '--music-out'])
def test_a_folder_input_with_an_output_file_is_refused(option, tmp_path, capsys, model_path):
    """A folder gives many outputs: -o m.wav is refused, and so is
    --music-out m.wav (it had made a folder named m.wav)."""
    write(tmp_path / 'mix' / 'a.wav', tone(1.0))
    outputs = {'-o': tmp_path / 'sep', '--music-out': tmp_path / 'music'}
    outputs[option] = tmp_path / 'm.wav'
    status, _, err = separate(capsys, model_path, '-i', tmp_path / 'mix',
                              '-o', outputs['-o'], '--music-out', outputs['--music-out'])
    assert_failed(status, err, names=['{} {}'.format(option, tmp_path / 'm.wav'),
                                      'must be a folder too'],
                  missing=list(outputs.values()))


def test_output_folder_holding_the_input_folder(tmp_path, capsys, model_path):
    """-i pod/raw -o pod: the inputs are found (an output folder excludes only
    what lies inside it below the input folder), the outputs land in pod."""
    write(tmp_path / 'pod' / 'raw' / 'ep1.wav', tone(1.0))
    write(tmp_path / 'pod' / 'raw' / 'ep2.wav', tone(0.5))
    status, _, err = separate(capsys, model_path, '-i', tmp_path / 'pod' / 'raw',
                              '-o', tmp_path / 'pod', '--music-out', tmp_path,
                              '--shifts', '1', '--speeds', '1')
    assert status == 0, err
    assert sf.info(str(tmp_path / 'pod' / 'ep1.wav')).frames == SR
    assert sf.info(str(tmp_path / 'ep2.wav')).frames == SR // 2


def test_folder_output_that_would_replace_another_input(tmp_path, capsys, model_path):
    """-i pod/raw -o pod, where pod/raw/raw/a.wav would be written over the
    input pod/raw/a.wav: refused before any work, even with --overwrite."""
    first = write(tmp_path / 'pod' / 'raw' / 'a.wav', tone(1.0))
    write(tmp_path / 'pod' / 'raw' / 'raw' / 'a.wav', tone(0.5))
    before = open(first, 'rb').read()
    status, _, err = separate(capsys, model_path, '-i', tmp_path / 'pod' / 'raw',
                              '-o', tmp_path / 'pod', '--overwrite')
    assert_failed(status, err, names=['which is an input'])
    assert open(first, 'rb').read() == before and not leftovers(tmp_path)


def test_music_out_same_as_out(tmp_path, capsys, model_path):
    source = write(tmp_path / 'in.wav', tone(1.0))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'x.wav',
                              '--music-out', tmp_path / 'x.wav')
    assert_failed(status, err, names=['x.wav', '--music-out'], missing=[tmp_path / 'x.wav'])


def test_existing_output_needs_overwrite(tmp_path, capsys, model_path):
    source = write(tmp_path / 'in.wav', tone(1.0))
    target = tmp_path / 'out.wav'
    target.write_bytes(b'precious')
    status, _, err = separate(capsys, model_path, '-i', source, '-o', target)
    assert_failed(status, err, names=[target, '--overwrite'])
    assert target.read_bytes() == b'precious'
    status, _, err = separate(capsys, model_path, '-i', source, '-o', target, '--overwrite')
    assert status == 0, err
    assert sf.info(str(target)).frames == SR


# --------------------------------------------------------------------------
# make_separate.py: models and devices

def _bad_model(kind, path, good):
    if kind == 'text':
        path.write_text('not a model')
    elif kind == 'npy':
        with open(str(path), 'wb') as handle:
            np.save(handle, np.zeros(4))
    elif kind == 'other-chain':
        chainer.serializers.save_npz(str(path), chainer.links.Linear(3, 2), compression=False)
    elif kind == 'other-keys':
        with open(str(path), 'wb') as handle:
            np.savez(handle, weights=np.zeros(3), bias=np.ones(2))
    elif kind.startswith('truncated'):
        data = open(good, 'rb').read()
        cut = {'truncated-head': 100, 'truncated-half': len(data) // 2,
               'truncated-tail': len(data) - 10}[kind]
        path.write_bytes(data[:cut])
    elif kind == 'corrupted':
        data = bytearray(open(good, 'rb').read())
        middle = len(data) // 2
        data[middle:middle + 64] = bytes(64)
        path.write_bytes(bytes(data))
    elif kind == 'nan-weights':
        np.random.seed(0)
        unet = network.UNet()
        unet.conv3.W.array[0, 0, 0, 0] = np.nan
        chainer.serializers.save_npz(str(path), unet, compression=False)
    elif kind == 'folder':
        path.mkdir()


@pytest.mark.parametrize('kind', ['missing', 'text', 'npy', 'other-chain', 'other-keys',
                                  'truncated-head', 'truncated-half', 'truncated-tail',
                                  'corrupted', 'nan-weights', 'folder'])
def test_bad_model(kind, tmp_path, capsys, model_path):
    source = write(tmp_path / 'in.wav', tone(1.0))
    model = tmp_path / 'bad.model'
    _bad_model(kind, model, model_path)
    status, _, err = separate(capsys, str(model), '-i', source, '-o', tmp_path / 'out.wav')
    line = assert_failed(status, err, names=[model], missing=[tmp_path / 'out.wav'])
    expected = {'missing': 'not found', 'folder': 'folder', 'nan-weights': 'NaN',
                'other-chain': 'another network', 'other-keys': 'another network',
                'corrupted': 'damaged', 'text': 'expected the U-Net',
                'npy': 'expected the U-Net'}
    reason = line.split(str(model), 1)[1]      # (the folder's name holds the test's)
    assert expected.get(kind, 'truncated') in reason, line


def test_gpu_without_cupy(tmp_path, capsys, model_path):
    if chainer.backends.cuda.available:
        pytest.skip('CuPy is installed here')
    source = write(tmp_path / 'in.wav', tone(1.0))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav',
                              '-g', '0')
    assert_failed(status, err, names=['-g 0', 'CuPy'], missing=[tmp_path / 'out.wav'])


# --------------------------------------------------------------------------
# make_separate.py: folders

def test_folder_with_a_bad_file(tmp_path, capsys, model_path):
    mixes = tmp_path / 'mix'
    write(mixes / 'a.wav', tone(1.0))
    write(mixes / 'sub' / 'c.wav', tone(0.5, freq=300))
    (mixes / 'b.wav').write_text('not audio')
    status, out, err = separate(capsys, model_path, '-i', mixes, '-o', tmp_path / 'sep')
    assert status == 1
    assert sf.info(str(tmp_path / 'sep' / 'a.wav')).frames == SR
    assert sf.info(str(tmp_path / 'sep' / 'sub' / 'c.wav')).frames == SR // 2
    assert not os.path.exists(tmp_path / 'sep' / 'b.wav')
    assert 'separated 2 of 3 files' in out
    summary = err[err.index('1 failed:'):]
    assert 'b.wav' in summary
    assert not leftovers(tmp_path)


def test_folder_same_stem_twice(tmp_path, capsys, model_path):
    """a.wav and a.flac both give an output; neither replaces the other."""
    mixes = tmp_path / 'mix'
    write(mixes / 'a.wav', tone(1.0))
    write(mixes / 'a.flac', tone(0.5), subtype='PCM_16')
    status, _, err = separate(capsys, model_path, '-i', mixes, '-o', tmp_path / 'sep',
                              '--overwrite')
    assert status == 0, err
    lengths = sorted(sf.info(str(tmp_path / 'sep' / name)).frames
                     for name in os.listdir(tmp_path / 'sep'))
    assert lengths == [SR // 2, SR]


# --------------------------------------------------------------------------
# SIGTERM twice: a rank gets two when it and mpiexec are both signalled
# (`pkill -f train.py`), since mpiexec passes its own on

def test_a_second_sigterm_does_not_cut_the_clean_up_short(capsys):
    cleaned = []

    def job():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)     # lands while cleaning up
            cleaned.append('temporary output removed')

    before = signal.getsignal(signal.SIGTERM)
    assert cli.run('prog', job) == cli.EXIT_TERMINATED
    assert cleaned == ['temporary output removed']
    assert capsys.readouterr().err == 'prog: terminated\n'
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_second_ctrl_c_while_the_stop_is_reported_gives_no_traceback(capsys, monkeypatch):
    # freeing what the job held can take a moment (a pool of workers shutting
    # down); a second Ctrl-C there escaped as a KeyboardInterrupt
    drop = cli._drop_interrupted

    def slow_drop(err):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        drop(err)

    def job():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, '_drop_interrupted', slow_drop)
    before = signal.getsignal(signal.SIGINT)
    try:
        status = cli.run('prog', job)
    except KeyboardInterrupt:
        pytest.fail('the second Ctrl-C escaped cli.run')
    assert status == cli.EXIT_INTERRUPTED
    assert capsys.readouterr().err == 'prog: interrupted\n'
    assert signal.getsignal(signal.SIGINT) is before


_INTERRUPT_WHILE_LOADING = """
import importlib.abc, os, runpy, signal, sys
SIGNAL = getattr(signal, os.environ.get('LOADING_SIGNAL', 'SIGINT'))
class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == 'chainer':
            os.kill(os.getpid(), SIGNAL)
sys.meta_path.insert(0, CtrlC())
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))   # as running the script does
runpy.run_path(sys.argv[0], run_name='__main__')
"""


@pytest.mark.parametrize('script', [
    'make_separate.py', 'train.py', 'evaluate.py', 'make_dataset.py',
    'scripts/average_models.py', 'scripts/band_errors.py', 'scripts/channel_items.py',
    'scripts/make_samples.py', 'scripts/model_tables.py', 'scripts/noise_leak.py',
    'scripts/paired.py', 'scripts/plot_training.py', 'scripts/prepare_corpus.py',
    'scripts/recalibrate_bn.py', 'benchmarks/example_speed.py',
    'benchmarks/report_accuracy.py', 'benchmarks/separate_speed.py',
    'benchmarks/train_speed.py'])
def test_ctrl_c_while_the_libraries_load_is_one_line(script, tmp_path):
    """Ctrl-C while Chainer is being imported (a second or more after the
    command starts) ends in one line and status 130, not in a page of
    import traceback."""
    proc = subprocess.run([sys.executable, '-c', _INTERRUPT_WHILE_LOADING,
                           os.path.join(ROOT, script), '--help'], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (proc.returncode, proc.stderr) == (
        130, '{}: interrupted\n'.format(os.path.basename(script)))
    assert proc.stdout == ''


@pytest.mark.parametrize('script', ['make_separate.py', 'make_dataset.py'])
def test_sigterm_while_the_libraries_load_is_one_line(script, tmp_path):
    """SIGTERM (a job scheduler, mpiexec) while the libraries load had ended
    the program without a word, where one that lands later says so."""
    proc = subprocess.run([sys.executable, '-c', _INTERRUPT_WHILE_LOADING,
                           os.path.join(ROOT, script), '--help'], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, LOADING_SIGNAL='SIGTERM'))
    assert (proc.returncode, proc.stderr) == (
        143, '{}: terminated\n'.format(os.path.basename(script)))


def test_once_the_work_begins_ctrl_c_is_the_runs_to_report(capsys):
    """``cli.run`` hands Ctrl-C back from the loading handler to Python's, so
    the run's own clean-up and line follow, and the handler stays Python's."""
    interrupts.quiet_while_loading()
    try:
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler

        def job():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        assert cli.run('prog', job) == cli.EXIT_INTERRUPTED
        assert capsys.readouterr().err == 'prog: interrupted\n'
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _as_program(*lines):
    """The Python ``lines`` run in a fresh interpreter started as a program
    (``interrupts.quiet_while_loading``, then ``import cli``)."""
    code = '\n'.join(('import sys, interrupts', 'interrupts.quiet_while_loading()',
                      'import cli') + lines)
    return subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_a_program_loads_librosas_deferred_modules_before_ctrl_c_is_pythons():
    """librosa loads its STFT module, and numba's cache with it, on first use,
    through ctypes callbacks that swallow a KeyboardInterrupt: Ctrl-C at the
    start of the work was lost and the run went on to exit 0. Run as a
    program, ``cli.run`` loads them while Ctrl-C still ends it at once."""
    proc = _as_program(
        'assert "librosa.core.spectrum" not in sys.modules',
        'seen = []',
        'cli.run("prog", lambda: seen.append({"librosa.core.spectrum", "librosa.util.utils"}'
        ' <= set(sys.modules)))',
        'assert seen == [True], seen')
    assert proc.returncode == 0, proc.stderr


def test_a_program_whose_deferred_modules_fail_to_load_still_runs():
    """numba missing (or its cache unwritable) had ended every script in a
    traceback from the preload, also those that compute no STFT."""
    proc = _as_program('sys.modules["librosa.core.spectrum"] = None',     # its import fails
                       'sys.exit(cli.run("prog", lambda: 7))')
    assert (proc.returncode, proc.stderr) == (7, '')


def test_a_program_of_tables_does_not_load_the_stft():
    proc = _as_program('cli.run("prog", lambda: None, audio=False)',
                       'assert "librosa.core.spectrum" not in sys.modules')
    assert proc.returncode == 0, proc.stderr


def test_a_broken_pipe_that_is_not_stdouts_is_not_called_stdouts():
    """Only a stdout whose reader has gone is reported as such (and
    silenced); another pipe's error stays what it is."""
    def job():
        raise BrokenPipeError(32, 'Broken pipe')
    with pytest.raises(BrokenPipeError):
        cli.run('prog', job)


# --------------------------------------------------------------------------
# make_separate.py: Ctrl-C and SIGTERM

def _start(args, tmp_path):
    """make_separate.py as a terminal starts it. Ctrl-C's default action is
    restored: a shell without job control starts background commands (``make
    test &``) with SIGINT ignored, children inherit that, and the SIGINT test
    then saw a run that ignored it and finished (exit 0)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    env.pop('SPEECHSEP_DEBUG', None)
    return subprocess.Popen([sys.executable, os.path.join(ROOT, 'make_separate.py')]
                            + [str(a) for a in args], cwd=str(tmp_path), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for(proc, path, timeout=120):
    """Wait until ``path`` exists (the separation is writing) or fail."""
    deadline = time.time() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            pytest.fail('finished before it could be interrupted:\n' + proc.stderr.read())
        if time.time() > deadline:
            proc.kill()
            pytest.fail('no temporary output appeared')
        time.sleep(0.005)


def _interrupt_once_written(proc, path, signum, settle=0.0, on_ready=None):
    """Wait until ``path`` exists and ``settle`` seconds more, call
    ``on_ready()``, send ``signum`` to the running ``proc``; its stderr
    once it has ended (killed if the test fails first)."""
    try:
        _wait_for(proc, path)
        time.sleep(settle)
        assert proc.poll() is None, 'finished before it could be interrupted'
        if on_ready is not None:
            on_ready()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return err


@pytest.mark.parametrize('signum, status, word', [(signal.SIGINT, 130, 'interrupted'),
                                                  (signal.SIGTERM, 143, 'terminated')])
def test_interrupted_run_leaves_nothing(signum, status, word, tmp_path, model_path):
    """Interrupted while writing the second file of a folder: the first stays
    whole, the second is neither under its name nor as a temporary file; the
    reports list the first, and the passages' spool is gone."""
    mixes = tmp_path / 'mix'
    write(mixes / 'a.wav', tone(1.0))
    write(mixes / 'b.wav', tone(240.0, freq=300), subtype='PCM_16')
    out = tmp_path / 'sep'
    report, passages = tmp_path / 'report.csv', tmp_path / 'passages.csv'
    proc = _start(['-i', mixes, '-o', out, '-m', model_path, '--report', report,
                   '--passage-report', passages], tmp_path)
    # 0.3 s: well inside the separation loop (about 4 s of work)
    err = _interrupt_once_written(proc, str(out / '.b.wav.{}.partial'.format(proc.pid)),
                                  signum, settle=0.3)
    assert proc.returncode == status, err
    assert err.strip().splitlines()[-1] == 'make_separate.py: {}'.format(word), err
    assert 'Traceback' not in err, err
    assert sf.info(str(out / 'a.wav')).frames == SR
    assert not os.path.exists(out / 'b.wav')
    assert not leftovers(tmp_path)
    for table in (report, passages):
        with open(str(table), newline='') as handle:
            assert [os.path.basename(r['input']) for r in csv.DictReader(handle)] == ['a.wav']


# --------------------------------------------------------------------------
# make_dataset.py

def dataset(capsys, music, speech, tmp_path, *extra):
    return run(make_dataset, ['-m', music, '-s', speech, '-t', tmp_path / 'stft',
                              '-o', tmp_path / 'mixdown'] + list(extra), capsys)


@pytest.mark.parametrize('which', ['music', 'speech'])
def test_dataset_input_folder_given_as_a_file(which, tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    a_file = write(tmp_path / 'one.wav', tone(1.0))
    music, speech = (a_file, speech) if which == 'music' else (music, a_file)
    status, _, err = dataset(capsys, music, speech, tmp_path)
    assert_failed(status, err, 'make_dataset.py', names=['one.wav', 'is a file'])
    assert not os.path.exists(tmp_path / 'stft')


@pytest.mark.parametrize('which', ['music', 'speech'])
def test_dataset_missing_folder(which, tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    if which == 'music':
        music = tmp_path / 'no_music'
    else:
        speech = tmp_path / 'no_speech'
    status, _, err = dataset(capsys, music, speech, tmp_path)
    line = assert_failed(status, err, 'make_dataset.py', names=['no_' + which])
    assert 'does not exist' in line
    assert not os.path.exists(tmp_path / 'stft')


@pytest.mark.parametrize('which', ['music', 'speech'])
def test_dataset_empty_folder(which, tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'readme.txt').write_text('no audio here')
    status, _, err = dataset(capsys, empty if which == 'music' else music,
                             empty if which == 'speech' else speech, tmp_path)
    assert_failed(status, err, 'make_dataset.py', names=['empty', 'no readable ' + which])


def test_dataset_skips_unreadable(tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    open(os.path.join(music, 'broken.wav'), 'w').write('not audio')
    write(os.path.join(speech, 'empty.wav'), np.zeros(0, np.float32))
    nan = tone(1.0)
    nan[5] = np.nan
    write(os.path.join(speech, 'nan.wav'), nan)
    status, out, err = dataset(capsys, music, speech, tmp_path, '-b', '3')
    assert status == 0, err
    assert 'broken.wav' in err and 'empty.wav' in err and 'nan.wav' in err
    assert all(line.startswith('warning: ') for line in err.splitlines() if line.strip())
    names = sorted(os.listdir(tmp_path / 'stft'))
    assert names and not any('broken' in n or 'empty' in n or 'nan' in n for n in names)
    assert len(names) == len(os.listdir(tmp_path / 'mixdown'))


def test_dataset_short_files(tmp_path, capsys):
    """Shorter than a patch: written with their true frame count; shorter
    than a frame (300 samples): skipped with a warning."""
    write(tmp_path / 'm' / 'm1.wav', tone(0.5, freq=200))
    write(tmp_path / 's' / 's1.wav', tone(300 / SR, freq=500))
    write(tmp_path / 's' / 's2.wav', tone(2.0, freq=700))
    status, _, err = dataset(capsys, tmp_path / 'm', tmp_path / 's', tmp_path, '-b', '2')
    assert status == 0, err
    frames = {}
    for name in os.listdir(tmp_path / 'stft'):
        with np.load(str(tmp_path / 'stft' / name)) as data:
            assert data['mix'].shape == data['vocal'].shape == data['inst'].shape
            assert np.all(np.isfinite(data['mix']))
            frames[name] = data['mix'].shape
    assert frames == {'s2_m1.npz': (513, 1 + 8000 // 512)}
    assert 'warning: skipped s1_m1: ' in err and 'shorter than one STFT frame' in err


def test_dataset_duplicate_names(tmp_path, capsys):
    """music_wav/a/x.wav and music_wav/b/x.wav, each paired with y1 and y2:
    four pairs, four distinct names."""
    write(tmp_path / 'm' / 'a' / 'x.wav', tone(1.0, freq=200))
    write(tmp_path / 'm' / 'b' / 'x.wav', tone(1.0, freq=300))
    write(tmp_path / 's' / 'y1.wav', tone(1.0, freq=500))
    write(tmp_path / 's' / 'y2.wav', tone(1.0, freq=700))
    status, _, err = dataset(capsys, tmp_path / 'm', tmp_path / 's', tmp_path, '-b', '2')
    assert status == 0, err
    names = sorted(os.listdir(tmp_path / 'stft'))
    assert len(names) == 4
    assert sorted(os.listdir(tmp_path / 'mixdown')) == [n[:-4] + '.wav' for n in names]


def test_dataset_silent_pairs_only(tmp_path, capsys):
    write(tmp_path / 'm' / 'm.wav', np.zeros(SR, np.float32))
    write(tmp_path / 's' / 's.wav', np.zeros(SR, np.float32))
    status, _, err = dataset(capsys, tmp_path / 'm', tmp_path / 's', tmp_path)
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2 and 'silent' in lines[0] and lines[0].startswith('warning: ')
    assert lines[1].startswith('make_dataset.py: error: no mixture')


@pytest.mark.parametrize('option', ['-t', '-o'])
@pytest.mark.parametrize('where', ['music', 'speech', 'inside-music'])
def test_dataset_output_is_input(option, where, tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    target = {'music': music, 'speech': speech,
              'inside-music': os.path.join(music, 'generated')}[where]
    before = sorted(os.listdir(music)), sorted(os.listdir(speech))
    argv = {'-t': tmp_path / 'stft', '-o': tmp_path / 'mixdown'}
    argv[option] = target
    status, _, err = run(make_dataset, ['-m', music, '-s', speech, '-t', argv['-t'],
                                        '-o', argv['-o']], capsys)
    assert_failed(status, err, 'make_dataset.py', names=[option, target, 'input folder'])
    assert (sorted(os.listdir(music)), sorted(os.listdir(speech))) == before


def test_dataset_output_under_a_file(tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    (tmp_path / 'file').write_text('x')
    status, _, err = run(make_dataset, ['-m', music, '-s', speech,
                                        '-t', tmp_path / 'file' / 'stft',
                                        '-o', tmp_path / 'mixdown'], capsys)
    assert_failed(status, err, 'make_dataset.py', names=['file', 'cannot write'])


def test_dataset_disk_full(tmp_path, capsys, speech_music_dirs, monkeypatch):
    """A write failure stops the run at once (it is not one bad pair)."""
    music, speech = speech_music_dirs
    monkeypatch.setattr(np, 'savez', _fail_after(2, OSError(errno.ENOSPC,
                                                            'No space left on device'))(np.savez))
    status, _, err = dataset(capsys, music, speech, tmp_path)
    line = assert_failed(status, err, 'make_dataset.py', names=['stft', 'No space left'])
    assert 'warning' not in err
    assert len(os.listdir(tmp_path / 'stft')) == 1
    assert not leftovers(tmp_path)


def test_dataset_ratio_and_snr_together_are_refused(tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    status, _, err = dataset(capsys, music, speech, tmp_path, '-r', '2', '--snr', '5')
    assert_failed(status, err, 'make_dataset.py', names=['-r 2', '--snr 5.0', 'give one'],
                  missing=[tmp_path / 'stft', tmp_path / 'mixdown'])


def test_dataset_rerun_overwrites_its_outputs(tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    assert dataset(capsys, music, speech, tmp_path, '--refs')[0] == 0
    first = sorted(os.listdir(tmp_path / 'mixdown'))
    status, _, err = dataset(capsys, music, speech, tmp_path, '--refs', '-r', '0.5')
    assert status == 0, err
    assert sorted(os.listdir(tmp_path / 'mixdown')) == first
    assert not leftovers(tmp_path)


# --------------------------------------------------------------------------
# train.py

@pytest.fixture(autouse=True)
def no_plot(monkeypatch):
    """No loss.png in these runs: matplotlib costs seconds of CPU per run."""
    monkeypatch.setattr(train.extensions.PlotReport, 'available', staticmethod(lambda: False))


def npz(path, frames=70, mix=None, vocal=None, seed=0):
    """An npz as make_dataset.py writes (70 frames: one 64-frame patch and more)."""
    rng = np.random.default_rng(seed)
    mix = rng.random((513, frames)).astype(np.float32) if mix is None else mix
    vocal = (mix * 0.5) if vocal is None else vocal
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), 'wb') as handle:
        np.savez(handle, mix=mix, vocal=vocal)


def three_npz(folder):
    """``folder`` with three different npz files (``i0``..``i2``); returns it."""
    for k in range(3):
        npz(folder / 'i{}.npz'.format(k), seed=k)
    return folder


def training(capsys, stft, out, *extra):
    return run(train, ['-t', stft, '-o', out, '--init', 'none', '-b', '2', '-l', '64',
                       '--val', '0', '-f', '1'] + list(extra), capsys)


def test_train_missing_stft(tmp_path, capsys):
    status, _, err = training(capsys, tmp_path / 'nothing', tmp_path / 'result')
    assert_failed(status, err, 'train.py', names=['nothing', 'does not exist'])


def test_train_empty_stft(tmp_path, capsys):
    (tmp_path / 'stft').mkdir()
    (tmp_path / 'stft' / 'notes.txt').write_text('x')
    status, _, err = training(capsys, tmp_path / 'stft', tmp_path / 'result')
    assert_failed(status, err, 'train.py', names=['stft', 'no npz'])


def _bad_npz(stft):
    with open(str(stft / 'nokeys.npz'), 'wb') as handle:
        np.savez(handle, spectrum=np.zeros((513, 10), np.float32))
    z = np.zeros((513, 10), np.float32)
    npz(stft / 'shapes.npz', mix=z, vocal=np.zeros((513, 12), np.float32))
    npz(stft / 'bins.npz', mix=z[:100], vocal=z[:100])
    npz(stft / 'inf.npz', mix=np.full((513, 10), np.inf, np.float32), vocal=z)
    (stft / 'text.npz').write_text('not an npz')
    return ['nokeys.npz', 'shapes.npz', 'bins.npz', 'inf.npz', 'text.npz']


def test_train_only_bad_npz(tmp_path, capsys):
    stft = tmp_path / 'stft'
    stft.mkdir()
    names = _bad_npz(stft)
    status, _, err = training(capsys, stft, tmp_path / 'result')
    assert status == 1
    lines = [line for line in err.splitlines() if line.strip()]
    for name in names:
        assert any(line.startswith('warning: skipped') and name in line for line in lines), name
    assert lines[-1].startswith('train.py: error: no usable training npz')
    assert len(lines) == len(names) + 1


def test_train_skips_bad_npz_and_pads_short_items(tmp_path, capsys):
    """Good items of 20 frames (< the 64-frame patch) train, padded; the bad
    ones are named and skipped."""
    stft = tmp_path / 'stft'
    stft.mkdir()
    names = _bad_npz(stft)
    npz(stft / 'good1.npz', frames=20, seed=1)
    npz(stft / 'good2.npz', frames=20, seed=2)
    status, out, err = training(capsys, stft, tmp_path / 'result', '--stop', '1')
    assert status == 0, err
    for name in names:
        assert name in err
    assert 'zero-padded' in err
    assert '2 files' in out
    assert os.path.exists(tmp_path / 'result' / 'model_1')


def _all_finite(path):
    with np.load(str(path)) as data:
        return all(np.all(np.isfinite(data[key])) for key in data.files
                   if data[key].dtype.kind == 'f')


@pytest.mark.filterwarnings('ignore::RuntimeWarning')
def test_train_stops_when_loss_is_not_finite(tmp_path, capsys):
    stft = three_npz(tmp_path / 'stft')
    out = tmp_path / 'result'
    status, _, err = training(capsys, stft, out, '--stop', '4', '--lr', '1e30')
    assert status == 1
    line = error_line(err, 'train.py')
    assert 'NaN or Inf at iteration' in line
    iteration = int(line.split('iteration ')[1].split(';')[0])
    written = [n for n in os.listdir(out) if n.startswith(('model_', 'snapshot_'))]
    assert all(int(n.rsplit('_', 1)[1]) < iteration for n in written)
    assert all(_all_finite(out / n) for n in written)
    for name in (n for n in written if n.startswith('model_')):
        network.load_unet(str(out / name))        # loadable: finite weights
    snapshots = [n for n in written if n.startswith('snapshot_')]
    assert ('Resume from the last snapshot' in line) == bool(snapshots)
    assert ('No snapshot was written yet' in line) == (not snapshots)


def test_train_skips_npz_of_absurd_magnitudes(tmp_path, capsys):
    stft = three_npz(tmp_path / 'stft')
    with np.load(os.path.join(stft, os.listdir(stft)[0])) as data:
        arrays = {key: data[key] for key in data.files}
    arrays['mix'] = arrays['mix'] * np.float32(3e38)
    np.savez(os.path.join(stft, 'huge.npz'), **arrays)
    status, _, err = training(capsys, stft, tmp_path / 'result', '--stop', '1', '--val', '0')
    assert status == 0, err
    assert 'skipped {}: magnitudes reach 3e+38'.format(os.path.join(stft, 'huge.npz')) in err


def test_train_reads_complex_npz_as_magnitudes(tmp_path, capsys):
    rng = np.random.default_rng(4)
    mix = (rng.standard_normal((513, 70)) + 1j * rng.standard_normal((513, 70))).astype(np.complex64)
    speech = (0.5 * mix * np.exp(0.7j)).astype(np.complex64)
    path = str(tmp_path / 'whole_stft.npz')
    np.savez(path, mix=mix, vocal=speech, vocal_psa=speech)
    with warnings.catch_warnings():
        warnings.simplefilter('error')          # no ComplexWarning: nothing discarded silently
        (got_mix, got_speech), = train.load_items([path], 'vocal')
        (_, got_psa), = train.load_items([path], 'vocal_psa')
    err = capsys.readouterr().err
    assert err.count('{}: holds complex values'.format(path)) == 2
    np.testing.assert_allclose(got_mix, np.abs(mix[1:]), rtol=1e-6)
    np.testing.assert_allclose(got_speech, np.abs(speech[1:]), rtol=1e-6)
    np.testing.assert_allclose(got_psa, util.phase_sensitive_magnitude(speech, mix)[1:], rtol=1e-5)
    assert np.all(got_psa < got_speech)          # 0.7 rad out of phase: less than |S|


def test_train_skips_npz_that_are_not_magnitudes(tmp_path, capsys):
    mix = np.random.default_rng(5).random((513, 70)).astype(np.float32)
    log_path, text_path = str(tmp_path / 'log.npz'), str(tmp_path / 'text.npz')
    np.savez(log_path, mix=np.log(mix), vocal=np.log(mix * 0.5))
    np.savez(text_path, mix=np.full((513, 70), 'x'), vocal=mix)
    assert train.load_items([log_path, text_path]) == []
    err = capsys.readouterr().err
    assert 'skipped {}: mix holds negative values'.format(log_path) in err
    assert 'skipped {}: mix and vocal must hold numbers'.format(text_path) in err


def test_train_skips_npy_damaged_empty_boolean_and_negative_speech_npz(tmp_path, capsys):
    """A .npy named .npz and a damaged compressed npz had ended in a
    traceback; arrays of no frames, of booleans, or a negative speech
    magnitude had been trained on."""
    mix = np.random.default_rng(6).random((513, 70)).astype(np.float32)
    paths = {name: str(tmp_path / (name + '.npz'))
             for name in ('npy', 'damaged', 'empty', 'boolean', 'negative', 'good')}
    with open(paths['npy'], 'wb') as handle:
        np.save(handle, mix)
    np.savez_compressed(paths['damaged'], mix=mix, vocal=mix / 2)
    raw = bytearray(open(paths['damaged'], 'rb').read())
    raw[1000:1008] = b'\xff' * 8                  # inside the first member's deflate stream
    open(paths['damaged'], 'wb').write(bytes(raw))
    np.savez(paths['empty'], mix=np.zeros((513, 0), np.float32),
             vocal=np.zeros((513, 0), np.float32))
    np.savez(paths['boolean'], mix=mix > 0.5, vocal=mix > 0.7)
    np.savez(paths['negative'], mix=mix, vocal=mix - 0.5)
    np.savez(paths['good'], mix=mix, vocal=mix / 2)
    items = train.load_items([paths[name] for name in sorted(paths)])
    assert len(items) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 5 and all(line.startswith('warning: skipped ') for line in lines)
    said = dict(zip(sorted(set(paths) - {'good'}), lines))
    assert 'npy.npz: a single .npy array, not an npz file' in said['npy']
    assert 'damaged.npz: damaged (Error -3 while decompressing' in said['damaged']
    assert 'empty.npz: holds no frames' in said['empty']
    assert 'boolean.npz: mix and vocal must hold numbers' in said['boolean']
    assert 'negative.npz: vocal holds negative values' in said['negative']


def test_train_resume_missing_and_foreign(tmp_path, capsys, model_path):
    stft = tmp_path / 'stft'
    npz(stft / 'a.npz')
    status, _, err = training(capsys, stft, tmp_path / 'result', '-r', tmp_path / 'nope')
    assert_failed(status, err, 'train.py', names=['nope', 'not found'])
    status, _, err = training(capsys, stft, tmp_path / 'result', '-r', model_path)
    assert_failed(status, err, 'train.py', names=[model_path, 'snapshot'])
    (tmp_path / 'junk').write_text('junk')
    status, _, err = training(capsys, stft, tmp_path / 'result', '-r', tmp_path / 'junk')
    assert_failed(status, err, 'train.py', names=['junk'])


def test_train_resume_continues(tmp_path, capsys):
    """A run stopped at iteration 2 and resumed ends at 3, log included."""
    stft = three_npz(tmp_path / 'stft')
    out = tmp_path / 'result'
    status, _, err = training(capsys, stft, out, '--stop', '2', '-f', '-1')
    assert status == 0, err
    assert os.path.exists(out / 'snapshot_iter_2')
    os.remove(out / 'model_2')      # as if killed after the snapshot
    status, printed, err = training(capsys, stft, out, '--stop', '3', '-f', '-1',
                                    '-r', out / 'snapshot_iter_2')
    assert status == 0, err
    assert os.path.exists(out / 'model_3') and os.path.exists(out / 'snapshot_iter_3')
    assert not os.path.exists(out / 'model_2')
    with open(str(out / 'log')) as handle:
        log = json.load(handle)
    assert [entry['iteration'] for entry in log] == [1, 2, 3]
    assert 'done: 3 iterations' in printed


def test_train_terminated_then_resumed(tmp_path, capsys):
    """SIGTERM in the middle of training: status 143, every snapshot on disk
    complete (no temporary folders), and the latest one resumes."""
    stft = three_npz(tmp_path / 'stft')
    out = tmp_path / 'result'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('SPEECHSEP_DEBUG', None)
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, 'train.py'), '-t', str(stft), '-o', str(out),
         '--init', 'none', '-b', '2', '-l', '64', '--val', '0', '-f', '1', '--stop', '1000'],
        cwd=str(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        _wait_for(proc, str(out / 'snapshot_iter_1'))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == 'train.py: terminated', err
    assert all(entry.is_file() for entry in out.iterdir()), sorted(os.listdir(out))
    latest = max(int(name.rsplit('_', 1)[1]) for name in os.listdir(out)
                 if name.startswith('snapshot_iter_'))
    assert 1 <= latest < 1000
    status, printed, err = training(capsys, stft, out, '--stop', latest + 1, '-f', '-1',
                                    '-r', out / 'snapshot_iter_{}'.format(latest))
    assert status == 0, err
    assert 'done: {} iterations'.format(latest + 1) in printed
    assert os.path.exists(out / 'model_{}'.format(latest + 1))


def test_train_stopped_while_writing_a_model_leaves_no_temporary_folder(
        tmp_path, capsys, monkeypatch):
    """A SIGTERM that lands just as Chainer makes its temporary folder for a
    model (before its own clean-up is armed) still leaves only complete
    files: the run removes the folders it made."""
    stft = three_npz(tmp_path / 'stft')
    out = tmp_path / 'result'
    make_folder = chainer.utils.tempfile.mkdtemp

    def stopped_after_making(**kwargs):
        folder = make_folder(**kwargs)
        if kwargs.get('prefix', '').startswith('tmpmodel_'):
            raise cli.Terminated()
        return folder

    monkeypatch.setattr(chainer.utils.tempfile, 'mkdtemp', stopped_after_making)
    status, _, err = training(capsys, stft, out, '--stop', '3')
    assert status == 143, err
    assert err.strip().splitlines()[-1] == 'train.py: terminated', err
    # model_1 is written first (then the snapshot, which holds its trigger)
    assert not os.path.exists(out / 'model_1')
    assert all(entry.is_file() for entry in out.iterdir()), sorted(os.listdir(out))


def test_implausible_rate_in_a_header_is_refused(tmp_path, model_path, capsys):
    """A damaged header claiming a few Hz would mean hours of work on noise."""
    source = str(tmp_path / 'odd.wav')
    sf.write(source, np.zeros(1000, np.float32), 8000)
    with open(source, 'r+b') as handle:          # rate field of the fmt chunk
        handle.seek(24)
        handle.write((7).to_bytes(4, 'little'))
    status = make_separate.main(['-i', source, '-o', str(tmp_path / 'o.wav'), '-m', model_path])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1 and len(err) == 1 and 'odd.wav' in err[0] and '7 Hz' in err[0]


def test_train_target_psa_without_the_array_says_how_to_make_it(tmp_path, capsys):
    stft = three_npz(tmp_path / 'stft')
    status, _, err = training(capsys, stft, tmp_path / 'result', '--target', 'vocal_psa')
    assert status == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert all('vocal_psa' in line and 'make_dataset.py --psa' in line for line in lines[:-1])
    assert len(lines) == 4
    assert lines[-1].startswith('train.py: error: no usable training npz')


def test_a_sigterm_held_beside_a_ctrl_c_ends_the_program_as_sigterm():
    """Both held (``interrupts.held_stops``): the Ctrl-C, raised first, ended
    the hand-back with its KeyboardInterrupt and the SIGTERM was dropped, so
    the program ended as interrupted (130) rather than terminated (143)."""
    proc = _as_program(
        'import os, signal',
        'def job():',
        '    with interrupts.held_stops():',
        '        os.kill(os.getpid(), signal.SIGINT)',
        '        os.kill(os.getpid(), signal.SIGTERM)',
        'interrupts.restore()',
        'signal.signal(signal.SIGTERM, lambda *_: sys.exit(cli.EXIT_TERMINATED))',
        'sys.exit(cli.run("prog", job, audio=False))')
    assert proc.returncode == cli.EXIT_TERMINATED, proc.stderr
