"""make_separate.py in a pipe: ``-i -`` reads the mixture from stdin, ``-o -``
writes the speech to stdout as a wav, with the settings and summary on
stderr; a failed run writes nothing to stdout and leaves no temporary file."""
import contextlib
import io
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import decoding
import make_separate
import standard_streams
import util
from conftest import ROOT, chirp, harmonic_stack, noise_bursts, write
from test_faults import _dead_pid, _plant

SCRIPT = os.path.join(ROOT, 'make_separate.py')
FAST = ['--shifts', '1', '--speeds', '1']
TIMEOUT = 120


def piped(stdin_bytes, *args, cwd):
    """make_separate.py in a fresh process fed ``stdin_bytes``, its
    temporary folder ``cwd/tmp``; ``(status, stdout bytes, stderr text)``."""
    os.makedirs(str(cwd / 'tmp'), exist_ok=True)
    done = subprocess.run([sys.executable, SCRIPT, *map(str, args)], input=stdin_bytes,
                          capture_output=True, cwd=str(cwd), timeout=TIMEOUT,
                          env=dict(os.environ, TMPDIR=str(cwd / 'tmp')))
    return done.returncode, done.stdout, done.stderr.decode(errors='replace')


def temporaries(folder):
    """What a run left in ``folder``'s hidden temporary files and in ``tmp``."""
    spool = folder / 'tmp'
    return ([name for name in os.listdir(str(folder)) if name.endswith('.partial')]
            + (os.listdir(str(spool)) if spool.is_dir() else []))


@pytest.fixture
def mixture(tmp_path):
    signal = harmonic_stack(1.6) + noise_bursts(1.6, seed=3)
    return write(tmp_path / 'mix.wav', signal, subtype='PCM_16')


def test_stdin_to_stdout_is_the_file_run(tmp_path, model_path, mixture):
    expected = tmp_path / 'expected.wav'
    status, _, err = piped(b'', '-i', mixture, '-o', expected, '-m', model_path, *FAST,
                           cwd=tmp_path)
    assert status == 0, err
    data = open(mixture, 'rb').read()
    status, out, err = piped(data, '-i', '-', '-o', '-', '-m', model_path, *FAST, cwd=tmp_path)
    assert status == 0, err
    assert out == expected.read_bytes()                # the wav alone: settings went to stderr
    assert '# input: stdin' in err and 'into stdout' in err
    assert temporaries(tmp_path) == []


def test_stdin_in_a_container_into_a_folder(tmp_path, model_path):
    stereo = np.stack([harmonic_stack(1.2, 44100), chirp(1.2, 44100)], axis=1)
    wav = write(tmp_path / 'cd.wav', stereo, 44100, 'PCM_16')
    packed = tmp_path / 'cd.m4a'
    subprocess.run([decoding.ffmpeg_executable(), '-v', 'error', '-i', wav, '-c:a', 'alac',
                    str(packed)], check=True)
    status, _, err = piped(packed.read_bytes(), '-i', '-', '-o', tmp_path / 'out', '--sr',
                           '-m', model_path, *FAST, cwd=tmp_path)
    assert status == 0, err
    status, _, err = piped(b'', '-i', wav, '-o', tmp_path / 'file.wav', '--sr',
                           '-m', model_path, *FAST, cwd=tmp_path)
    assert status == 0, err
    got, rate = sf.read(str(tmp_path / 'out' / 'stdin.wav'))
    expected, _ = sf.read(str(tmp_path / 'file.wav'))
    assert rate == 44100 and got.shape == expected.shape == (52920,)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert temporaries(tmp_path / 'out') == []


@pytest.mark.parametrize('stdin_bytes, problem', [
    (b'', 'stdin: no bytes came in'),
    (b'plain text, not audio\n' * 50, 'stdin: ffmpeg cannot decode it')])
def test_bad_stdin_is_one_line_and_nothing_on_stdout(tmp_path, model_path, stdin_bytes,
                                                     problem):
    status, out, err = piped(stdin_bytes, '-i', '-', '-o', '-', '-m', model_path,
                             cwd=tmp_path)
    lines = [line for line in err.splitlines() if not line.startswith('#')]
    assert status == 1 and out == b''
    assert len(lines) == 1 and problem in lines[0], err
    status, out, err = piped(stdin_bytes, '-i', '-', '-o', tmp_path / 'o.wav',
                             '-m', model_path, cwd=tmp_path)
    assert status == 1 and not os.path.exists(str(tmp_path / 'o.wav'))
    assert temporaries(tmp_path) == []


def test_streams_refused_where_they_cannot_work(tmp_path, model_path, mixture):
    folder = os.path.dirname(mixture)
    status, out, err = piped(b'', '-i', folder, '-o', '-', '-m', model_path, cwd=tmp_path)
    assert status == 1 and out == b'' and '-o -: a folder gives many outputs' in err
    status, out, err = piped(b'', '-i', mixture, '-o', '-', '--music-out', '-',
                             '-m', model_path, cwd=tmp_path)
    assert status == 1 and out == b'' and 'only the speech can go to stdout' in err
    status, out, err = piped(b'', '-i', mixture, '-o', '-', '--format', 'opus', '--sr', '44100',
                             '-m', model_path, cwd=tmp_path)
    assert status == 1 and out == b''
    assert 'error: stdout: cannot write 44100 Hz' in err     # not the temporary file's name
    assert temporaries(tmp_path) == []


def test_stdout_gets_the_file_only_once_complete(tmp_path):
    target = io.BytesIO()
    with pytest.raises(util.AudioError):
        with standard_streams.stdout_file(target) as path:
            util.write_audio(path, np.zeros(10, np.float32))
            raise util.AudioError('failed after writing')
    assert target.getvalue() == b'' and not os.path.exists(path)
    with standard_streams.stdout_file(target) as path:
        util.write_audio(path, np.full(10, 0.5, np.float32))
    assert sf.read(io.BytesIO(target.getvalue()))[0].tolist() == [0.5] * 10
    assert not os.path.exists(path)


def test_a_reader_that_closes_the_pipe_is_one_line(tmp_path, model_path, mixture):
    """``make_separate.py -o - | head -c 0``: the pipe breaks while the
    speech is copied out; one error line, status 1, no temporary left."""
    os.makedirs(str(tmp_path / 'tmp'))
    writer = subprocess.Popen([sys.executable, SCRIPT, '-i', mixture, '-o', '-',
                               '-m', model_path, *FAST], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd=str(tmp_path),
                              env=dict(os.environ, TMPDIR=str(tmp_path / 'tmp')))
    writer.stdout.close()                 # the reader is gone before a byte is written
    err = writer.stderr.read().decode(errors='replace')
    assert writer.wait(timeout=TIMEOUT) == 1
    lines = [line for line in err.splitlines() if line and not line.startswith('# ')]
    assert lines == ['make_separate.py: error: stdout: the program reading it closed the '
                     'pipe before the speech was all written'], err
    assert temporaries(tmp_path) == []


def with_stdout(how, *args, cwd):
    """make_separate.py in a fresh process whose stdout is ``how``: 'full'
    (/dev/full), 'closed' (>&-) or 'terminal' (a pseudo-terminal), its
    temporary folder ``cwd/tmp``; ``(status, stderr lines but settings)``."""
    os.makedirs(str(cwd / 'tmp'), exist_ok=True)
    command = [sys.executable, SCRIPT, *map(str, args)]
    env = dict(os.environ, TMPDIR=str(cwd / 'tmp'))
    if how == 'closed':
        command = ['sh', '-c', 'exec "$@" >&-', 'sh'] + command
    with contextlib.ExitStack() as stack:
        if how == 'full':
            stdout = stack.enter_context(open('/dev/full', 'wb'))
        elif how == 'terminal':
            leader, stdout = os.openpty()
            stack.callback(os.close, leader)
            stack.callback(os.close, stdout)
        else:
            stdout = None
        done = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, cwd=str(cwd),
                              env=env, timeout=TIMEOUT)
    err = done.stderr.decode(errors='replace')
    return done.returncode, [line for line in err.splitlines() if not line.startswith('# ')]


@pytest.mark.parametrize('how, line', [
    ('full', 'stdout: cannot write (No space left on device)'),
    ('closed', 'stdout: is closed; give -o a file'),
    ('terminal', 'stdout: is a terminal; pipe the audio on')])
def test_a_stdout_that_cannot_take_the_audio_is_one_line(tmp_path, model_path, mixture, how,
                                                         line):
    """-o - > /dev/full had ended in an OSError traceback, -o - >&- in an
    AttributeError one, and -o - on a terminal dumped the wav onto it; a
    closed or terminal stdout is refused before any work, --format or not."""
    if how == 'full' and not os.path.exists('/dev/full'):
        pytest.skip('no /dev/full')
    extra = ['--format', 'flac'] if how == 'terminal' else []
    status, lines = with_stdout(how, '-i', mixture, '-o', '-', '-m', model_path, *FAST,
                                *extra, cwd=tmp_path)
    assert status == 1
    assert len(lines) == 1 and lines[0].startswith('make_separate.py: error: ' + line), lines
    assert temporaries(tmp_path) == []


def test_what_killed_pipe_runs_left_in_tmpdir_goes_with_the_next(tmp_path, model_path,
                                                                 mixture):
    """kill -9 of ``-i - -o -`` left the whole input (``.stdin.PID.partial``)
    and the stdout file and its temporaries in $TMPDIR for good: the next
    run in a pipe removes those whose process is gone and that are a minute
    old, and leaves the rest."""
    spool = tmp_path / 'tmp'
    spool.mkdir()
    dead, live = _dead_pid(), os.getpid()
    stale = [_plant(spool, name.format(dead), 3600) for name in (
        '.stdin.{}.partial', '..stdin.{0}.partial.decoded.wav.{0}.partial',
        '.make_separate-{0}-stdout.wav.{0}.partial',
        '.make_separate-{0}-stdout.flac.{0}.partial.final', 'make_separate-{}-stdout.wav')]
    kept = [_plant(spool, 'make_separate-{}-stdout.flac'.format(dead), 0),   # fresh
            _plant(spool, 'make_separate-{}-stdout.wav'.format(live), 3600),  # running
            _plant(spool, '.stdin.{}.partial'.format(live), 3600),
            _plant(spool, 'make_separate-{}-stdout.wav.bak'.format(dead), 3600)]  # not ours
    status, out, err = piped(open(mixture, 'rb').read(), '-i', '-', '-o', '-',
                             '-m', model_path, *FAST, cwd=tmp_path)
    assert status == 0 and out[:4] == b'RIFF', err
    assert 'note: removed 5 files that killed runs in a pipe left in ' + str(spool) in err
    assert not any(os.path.exists(p) for p in stale)
    assert sorted(os.listdir(str(spool))) == sorted(os.path.basename(p) for p in kept)


@pytest.mark.parametrize('fmt, magic', [('flac', b'fLaC'), ('opus', b'OggS')])
def test_format_sets_what_stdout_gets(tmp_path, model_path, mixture, fmt, magic):
    """--format flac puts a FLAC on stdout, the same speech as -o FILE.flac
    (an encoder's output compared by its samples)."""
    expected = tmp_path / ('expected.' + fmt)
    assert make_separate.main(['-i', mixture, '-o', str(expected), '-m', model_path,
                               *FAST]) == 0
    status, out, err = piped(open(mixture, 'rb').read(), '-i', '-', '-o', '-', '--format', fmt,
                             '-m', model_path, *FAST, cwd=tmp_path)
    assert status == 0, err
    assert out[:4] == magic and '# output: stdout ({})'.format(fmt) in err
    got = sf.read(io.BytesIO(out), dtype='float32')[0]
    np.testing.assert_array_equal(got, sf.read(str(expected), dtype='float32')[0])
    assert temporaries(tmp_path) == []


def test_a_cut_mp3_on_stdin_is_named_stdin_without_the_decoders_noise(tmp_path, model_path):
    """The warning named the hidden spool file (``.stdin.PID.partial``), and
    libmpg123 printed "Xing stream size off by more than 1%" several times
    straight to stderr; one warning naming stdin is left."""
    full = str(tmp_path / 'full.mp3')
    sf.write(full, harmonic_stack(4.0, sr=48000), 48000, format='MP3')
    with open(full, 'rb') as handle:
        cut = handle.read()[:9000]
    status, _, err = piped(cut, '-i', '-', '-o', tmp_path / 'out.wav', '-m', model_path, *FAST,
                           cwd=tmp_path)
    assert status == 0, err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith('warning: stdin: '), err
    assert 'of it decode where its header says 4.0 s' in lines[0]
