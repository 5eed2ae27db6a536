"""Faults and bad input, second pass (issue 12): outputs past 4 GiB, rates a
format cannot hold, colliding outputs, FIFOs, odd model arrays, very short
mixtures, misleading messages and the temporary files of killed runs.

As in test_errors.py, each case drives a real CLI through ``main([...])``
(a subprocess where today's code would crash the interpreter) and checks
the one error line, status 1, and that nothing is left under a final or a
temporary name. Tests run as root, so permission-denied is simulated with
``os.access`` and ``numpy.load``, a full disk with ``/dev/full``.
"""
import contextlib
import csv
import errno
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, tone, write
from test_errors import assert_failed, leftovers, run, separate

import const  # noqa: E402
import evaluate  # noqa: E402
import make_dataset  # noqa: E402
import make_separate  # noqa: E402
import util  # noqa: E402

SR = 16000


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)


def make_refs(folder, names=('f0',), seconds=0.5):
    """Mixtures with ``NAME.speech.wav`` and ``NAME.music.wav`` beside them."""
    for i, name in enumerate(names):
        speech, music = tone(seconds, freq=300 + 100 * i), tone(seconds, freq=2000, amp=0.1)
        write(os.path.join(str(folder), name + '.wav'), speech + music)
        write(os.path.join(str(folder), name + '.speech.wav'), speech)
        write(os.path.join(str(folder), name + '.music.wav'), music)


# --------------------------------------------------------------------------
# 1. Outputs past 4 GiB

def test_container_for_outputs_past_4_gib():
    """A 60-minute output at 384 kHz: the float wav temporary (and a wav
    output) become RF64, flac holds it as it is, aiff is refused."""
    frames = 60 * 60 * 384000                      # 5.5 GB as float32
    assert util.container_for('o.wav', 'WAV', 'FLOAT', frames) == 'RF64'
    assert util.container_for('o.wav', 'WAV', 'PCM_16', frames) == 'WAV'   # 2.8 GB
    assert util.container_for('o.wav', 'WAV', 'PCM_32', frames) == 'RF64'  # 5.5 GB
    assert util.container_for('o.flac', 'FLAC', 'PCM_16', frames) == 'FLAC'
    assert util.container_for('o.wav', 'WAV', 'FLOAT', 1000) == 'WAV'
    limit = const.MAX_32BIT_DATA_BYTES // 4
    assert util.container_for('o.wav', 'WAV', 'FLOAT', limit) == 'WAV'
    assert util.container_for('o.wav', 'WAV', 'FLOAT', limit + 1) == 'RF64'
    with pytest.raises(util.AudioError, match=r'o\.aiff: .*GiB.*AIFF'):
        util.container_for('o.aiff', 'AIFF', 'FLOAT', frames)


@pytest.mark.parametrize('name', ['out.wav', 'out.flac', 'pcm.wav'])
def test_output_past_the_limit_keeps_its_length(name, tmp_path, capsys, model_path,
                                                monkeypatch):
    """The 4 GiB limit lowered to 4000 bytes: the outputs are as long as the input."""
    monkeypatch.setattr(const, 'MAX_32BIT_DATA_BYTES', 4000)
    source = write(tmp_path / 'in.wav', tone(0.5))
    extra = ['--subtype', 'PCM_16'] if name == 'pcm.wav' else []
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / name, *extra)
    assert status == 0, err
    info = sf.info(str(tmp_path / name))
    assert info.frames == SR // 2
    assert info.format == ('FLAC' if name == 'out.flac' else 'RF64')
    assert not leftovers(tmp_path)


def test_output_past_the_limit_refused_before_any_work(tmp_path, capsys, model_path,
                                                       monkeypatch):
    monkeypatch.setattr(const, 'MAX_32BIT_DATA_BYTES', 4000)
    monkeypatch.setattr(make_separate, 'peak_magnitude', lambda blocks: pytest.fail('worked'))
    source = write(tmp_path / 'in.wav', tone(0.5))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.aiff')
    assert_failed(status, err, names=['out.aiff', 'AIFF'], missing=[tmp_path / 'out.aiff'])
    assert not leftovers(tmp_path)


# --------------------------------------------------------------------------
# 2. Two inputs, one output

def test_folder_inputs_that_would_share_an_output(tmp_path, capsys, model_path):
    mixes = tmp_path / 'mix'
    for name in ('a.wav', 'a.flac', 'a.wav.wav'):
        write(mixes / name, tone(0.5), subtype='PCM_16')
    status, _, err = separate(capsys, model_path, '-i', mixes, '-o', tmp_path / 'sep',
                              '--overwrite')
    assert_failed(status, err, names=[mixes / 'a.wav', mixes / 'a.wav.wav', 'both'])
    assert not os.path.exists(tmp_path / 'sep') or not os.listdir(tmp_path / 'sep')


@pytest.mark.parametrize('overwrite', [[], ['--overwrite']])
def test_one_inputs_speech_output_is_another_inputs_music_output(overwrite, tmp_path, capsys,
                                                                  model_path):
    """in/a.wav and in/music/a.wav with -o out --music-out out/music: the
    music of the first and the speech of the second are both out/music/a.wav.
    Refused before any work, in one line naming both inputs (the run had
    failed on a file it wrote itself, or with --overwrite let the speech
    of one replace the music of the other)."""
    mixes = tmp_path / 'in'
    write(mixes / 'a.wav', tone(0.5))
    write(mixes / 'music' / 'a.wav', tone(0.5, freq=900))
    out = tmp_path / 'out'
    status, _, err = separate(capsys, model_path, '-i', mixes, '-o', out,
                              '--music-out', out / 'music', *overwrite)
    line = assert_failed(status, err, names=[mixes / 'a.wav', mixes / 'music' / 'a.wav',
                                             out / 'music' / 'a.wav', 'music output',
                                             'speech output'])
    assert 'would both be written to' in line
    assert not out.exists()


@pytest.mark.parametrize('names', [('A.wav', 'a.wav'), ('Sub/a.wav', 'sub/a.wav'),
                                   ('caf\u00e9.wav', 'cafe\u0301.wav')])
def test_folder_inputs_whose_outputs_differ_only_by_letter_case(names, tmp_path, capsys,
                                                                model_path):
    """A.wav and a.wav (or Sub/a.wav and sub/a.wav) give outputs that are one
    file where names ignore letter case (macOS, Windows, exFAT): the second
    had replaced the first there. So do 'é' as one character and as 'e'
    with an accent on macOS. Refused before any work, in one line naming
    both inputs, on every file system, as outputs are often copied."""
    mixes = tmp_path / 'mix'
    for name in names:
        write(mixes / name, tone(0.5), subtype='PCM_16')
    out = tmp_path / 'sep'
    status, _, err = separate(capsys, model_path, '-i', mixes, '-o', out)
    assert_failed(status, err, names=[mixes / names[0], mixes / names[1], 'letter case'])
    assert not out.exists() or not os.listdir(out)


def test_folder_stems_that_differ_only_by_case_keep_their_extensions(tmp_path, capsys,
                                                                    model_path):
    """A.wav and a.flac are named as a.wav and a.flac are (A.wav.wav,
    a.flac.wav), not A.wav and a.wav, one file where case is ignored."""
    mixes = tmp_path / 'mix'
    write(mixes / 'A.wav', tone(0.5))
    write(mixes / 'a.flac', tone(0.5), subtype='PCM_16')
    status, _, err = separate(capsys, model_path, '-i', mixes, '-o', tmp_path / 'sep')
    assert status == 0, err
    assert sorted(os.listdir(tmp_path / 'sep')) == ['A.wav.wav', 'a.flac.wav']


def test_speech_and_music_files_that_differ_only_by_case(tmp_path, capsys, model_path):
    source = write(tmp_path / 'in.wav', tone(0.5))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'OUT.wav',
                              '--music-out', tmp_path / 'out.wav')
    assert_failed(status, err, names=[tmp_path / 'out.wav', tmp_path / 'OUT.wav',
                                      'letter case'],
                  missing=[tmp_path / 'OUT.wav', tmp_path / 'out.wav'])


# --------------------------------------------------------------------------
# 4. evaluate.py --csv over an input

@pytest.mark.parametrize('target', ['f0.wav', 'f0.speech.wav', 'manifest.csv'])
def test_evaluate_csv_never_replaces_an_input(target, tmp_path, capsys):
    make_refs(tmp_path / 'mix')
    (tmp_path / 'mix' / 'manifest.csv').write_text('name,snr_db\nf0,0.0\n')
    path = tmp_path / 'mix' / target
    before = path.read_bytes()
    status, _, err = run(evaluate, ['-i', tmp_path / 'mix', '--oracle', 'irm',
                                    '--csv', path, '--overwrite'], capsys)
    assert_failed(status, err, prog='evaluate.py', names=[path, 'input'])
    assert path.read_bytes() == before


# --------------------------------------------------------------------------
# 5. Rates a format cannot hold

@pytest.mark.parametrize('fmt, subtype, good, bad', [
    ('OGG', 'VORBIS', 200000, 256000), ('OGG', 'OPUS', 48000, 44100),
    ('MP3', 'MPEG_LAYER_III', 44100, 96000), ('FLAC', 'PCM_16', 384000, 655360),
    ('FLAC', 'PCM_16', 65540, 65541), ('WAV', 'FLOAT', 1000, 999)])
def test_output_rate_limits(fmt, subtype, good, bad):
    util.check_output_rate('o', fmt, subtype, good)
    with pytest.raises(util.AudioError, match='cannot write {} Hz'.format(bad)):
        util.check_output_rate('o', fmt, subtype, bad)


def test_ogg_at_384_khz_is_refused_not_a_crash(tmp_path, model_path):
    """libsndfile's Vorbis encoder segfaults above 200 kHz: refused first.
    A subprocess, so that a crash fails this test, not the whole session."""
    source = write(tmp_path / 'in.wav', tone(0.05, sr=384000), sr=384000)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop('SPEECHSEP_DEBUG', None)
    done = subprocess.run([sys.executable, os.path.join(ROOT, 'make_separate.py'), '-i', source,
                           '-o', str(tmp_path / 'out.ogg'), '--sr', '-m', model_path],
                          cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=120)
    assert_failed(done.returncode, done.stderr, names=['out.ogg', '384000 Hz', 'Vorbis'],
                  missing=[tmp_path / 'out.ogg'])
    assert not leftovers(tmp_path)


# --------------------------------------------------------------------------
# 6. FIFOs named like audio

@contextlib.contextmanager
def deadline(seconds):
    """Fail instead of hanging (a FIFO opened for reading waits for a writer)."""
    def expire(signum, frame):
        raise TimeoutError('hung on a FIFO')
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_fifo_in_an_input_folder_is_skipped(tmp_path, capsys, model_path):
    mixes = tmp_path / 'mix'
    write(mixes / 'a.wav', tone(0.5))
    os.mkfifo(str(mixes / 'b.wav'))
    with deadline(30):
        status, out, err = separate(capsys, model_path, '-i', mixes, '-o', tmp_path / 'sep')
    assert status == 0, err
    assert [line for line in err.splitlines() if line.strip()] == [
        'warning: skipped {}: not a regular file (a FIFO, socket or device)'.format(
            mixes / 'b.wav')]
    assert 'separated 1 of 1 file' in out
    assert sf.info(str(tmp_path / 'sep' / 'a.wav')).frames == SR // 2

    with deadline(30):
        status, _, err = separate(capsys, model_path, '-i', mixes / 'b.wav',
                                  '-o', tmp_path / 'b.wav')
    # a FIFO given as -i (bash's <(...)) is named a pipe, and stdin the way to give it
    line = assert_failed(status, err, names=[mixes / 'b.wav', 'is a pipe, not a file'],
                         missing=[tmp_path / 'b.wav'])
    assert line.endswith('give the pipe as stdin: ... | make_separate.py -i - -o OUT')


def test_fifo_in_a_dataset_folder_is_skipped(tmp_path, capsys, speech_music_dirs):
    music, speech = speech_music_dirs
    os.mkfifo(os.path.join(music, 'm3.wav'))
    with deadline(30):
        status, _, err = run(make_dataset, ['-m', music, '-s', speech, '-t', tmp_path / 'stft',
                                            '-o', tmp_path / 'mixdown', '-b', '1'], capsys)
    assert status == 0, err
    assert 'm3.wav: not a regular file' in err
    assert len(os.listdir(tmp_path / 'mixdown')) == 2


# --------------------------------------------------------------------------
# 9. Models with the right keys but arrays of another kind

@pytest.mark.parametrize('kind', ['complex', 'text'])
def test_model_of_complex_or_text_arrays(kind, tmp_path, capsys, model_path):
    arrays = dict(np.load(model_path))
    weights = arrays['conv1/W']
    arrays['conv1/W'] = (weights.astype(np.complex64) if kind == 'complex'
                         else np.full(weights.shape, 'ab'))
    model = tmp_path / 'odd.model'
    with open(str(model), 'wb') as handle:
        np.savez(handle, **arrays)
    source = write(tmp_path / 'in.wav', tone(0.5))
    status, _, err = separate(capsys, str(model), '-i', source, '-o', tmp_path / 'out.wav')
    assert_failed(status, err, names=[model, 'not real numbers'], missing=[tmp_path / 'out.wav'])
    make_refs(tmp_path / 'mix')
    status, _, err = run(evaluate, ['-i', tmp_path / 'mix', '-m', model], capsys)
    assert_failed(status, err, prog='evaluate.py', names=[model, 'not real numbers'])


# --------------------------------------------------------------------------
# 10. evaluate.py and mixtures shorter than STOI's frames

def test_evaluate_scores_a_mixture_too_short_for_stoi(tmp_path, capsys):
    make_refs(tmp_path / 'mix', names=('long',), seconds=1.0)
    make_refs(tmp_path / 'mix', names=('short',), seconds=300 / SR)     # 19 ms
    status, out, err = run(evaluate, ['-i', tmp_path / 'mix', '--oracle', 'irm',
                                      '--csv', tmp_path / 'scores.csv'], capsys)
    assert status == 0, err
    assert 'Traceback' not in err
    assert 'evaluated 2 of 2 files' in out
    assert any(line.startswith('note: short [oracle-irm]:') and 'stoi: ' in line
               for line in err.splitlines()), err
    rows = {r['name']: r for r in evaluate_rows(tmp_path / 'scores.csv')}
    assert rows['short']['stoi'] == 'nan'
    # under const.EVAL_MIN_SAMPLES, SI-SDR and SDR are undefined too, with a note
    assert rows['short']['si_sdr'] == rows['short']['sdr'] == 'nan'
    assert 'si_sdr: the signal is too short (300 samples' in rows['short']['notes']
    assert rows['long']['stoi'] != 'nan' and rows['long']['si_sdr'] != 'nan'


def evaluate_rows(path):
    with open(str(path), newline='') as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------
# 11. Messages that said the wrong thing

def _deny(monkeypatch, path, mode):
    real = os.access
    monkeypatch.setattr(os, 'access', lambda p, m, **kw: False
                        if os.path.realpath(p) == os.path.realpath(str(path)) and m & mode
                        else real(p, m, **kw))


def test_unreadable_input_says_permission_denied(tmp_path, capsys, model_path, monkeypatch):
    source = write(tmp_path / 'in.wav', tone(0.5))
    _deny(monkeypatch, source, os.R_OK)
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    line = assert_failed(status, err, names=[source, 'permission denied'],
                         missing=[tmp_path / 'out.wav'])
    assert 'not a readable audio file' not in line


def test_unreadable_model_says_permission_denied(tmp_path, capsys, model_path, monkeypatch):
    source = write(tmp_path / 'in.wav', tone(0.5))
    real = np.load

    def load(path, *args, **kwargs):
        if str(path) == model_path:
            raise PermissionError(errno.EACCES, 'Permission denied', str(path))
        return real(path, *args, **kwargs)
    monkeypatch.setattr(np, 'load', load)
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    line = assert_failed(status, err, names=[model_path, 'permission denied'])
    assert 'not a Chainer npz model' not in line


@pytest.mark.skipif(not os.path.exists('/dev/full'), reason='no /dev/full')
def test_full_disk_says_no_space_left(tmp_path, capsys, model_path):
    """libsndfile's own ENOSPC (the temporary file is /dev/full): not "System error"."""
    source = write(tmp_path / 'in.wav', tone(0.5))
    full = tmp_path / '.out.wav.{}.partial'.format(os.getpid())
    full.symlink_to('/dev/full')
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    line = assert_failed(status, err, names=['out.wav', 'No space left on device'],
                         missing=[tmp_path / 'out.wav'])
    assert 'System error' not in line


@pytest.mark.parametrize('stem', ['a' * 247, '\u00e9' * 123])
def test_output_name_near_the_file_name_limit(stem, tmp_path, capsys, model_path):
    """A 251- or 250-byte name: the temporary name must not be longer."""
    name = stem + '.wav'
    assert len(os.fsencode(name)) > 245
    tmp = os.path.basename(util.temporary_path(str(tmp_path / name)))
    assert len(os.fsencode(tmp + util.FINAL_SUFFIX)) <= const.NAME_MAX
    assert tmp.startswith('.') and tmp.endswith('.{}.partial'.format(os.getpid()))
    source = write(tmp_path / 'in.wav', tone(0.5))
    for subtype in ('FLOAT', 'PCM_16'):       # PCM_16: a second temporary, .final
        status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / name,
                                  '--subtype', subtype, '--overwrite')
        assert status == 0, err
        assert sf.info(str(tmp_path / name)).subtype == subtype
    assert not leftovers(tmp_path)


def test_an_output_name_past_the_limit_fails_that_file_alone(tmp_path, capsys, model_path):
    """A 248-character stem as .wav and .flac gives .wav.flac and
    .flac.flac, and a 255-byte mp3 name gives a 256-byte .flac: each is an
    error for its file before its work, and the folder run goes on (the
    renaming had failed after the work, an OutputError that stopped the run
    before c.wav)."""
    mixes, out = tmp_path / 'mix', tmp_path / 'sep'
    long_stem, wide_stem = 'a' * 248, '\u00e9' * 125 + 'a'
    write(mixes / (long_stem + '.wav'), tone(0.5))
    write(mixes / (long_stem + '.flac'), tone(0.5), subtype='PCM_16')
    sf.write(str(mixes / (wide_stem + '.mp3')), tone(0.5, sr=48000), 48000, format='MP3')
    assert len(os.fsencode(wide_stem + '.mp3')) == const.NAME_MAX
    write(mixes / 'c.wav', tone(0.5))
    status, printed, err = separate(capsys, model_path, '-i', mixes, '-o', out,
                                    '--format', 'flac', '--shifts', '1', '--speeds', '1')
    assert status == 1
    assert 'separated 1 of 4 files' in printed
    failures = err[err.index('3 failed:'):].splitlines()[1:]
    assert len(failures) == 3 and all('more than the 255 a file name' in f for f in failures)
    assert os.listdir(out) == ['c.flac'] and not leftovers(tmp_path)


def test_huge_samples_blame_the_input(tmp_path, capsys, model_path):
    signal_ = tone(1.0)
    signal_[100] = 1e37
    source = write(tmp_path / 'huge.wav', signal_)
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav')
    line = assert_failed(status, err, names=[source], missing=[tmp_path / 'out.wav'])
    assert 'out.wav' not in line
    assert not leftovers(tmp_path)


@pytest.mark.parametrize('rate, limit', [
    ('1', const.MIN_SAMPLE_RATE), ('999', const.MIN_SAMPLE_RATE),
    ('768001', const.MAX_OUTPUT_RATE), ('3000000000', const.MAX_OUTPUT_RATE)])
def test_output_rate_outside_the_limits(rate, limit, tmp_path, capsys, model_path):
    """3 GHz had ended in soundfile's OverflowError traceback."""
    source = write(tmp_path / 'in.wav', tone(0.5))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', tmp_path / 'out.wav',
                              '--sr', rate)
    assert_failed(status, err, names=['--sr ' + rate, str(limit)],
                  missing=[tmp_path / 'out.wav'])
    assert not leftovers(tmp_path)


def test_read_only_output_folder_stops_a_folder_run_once(tmp_path, capsys, model_path,
                                                         monkeypatch):
    mixes = tmp_path / 'mix'
    for name in ('a.wav', 'b.wav', 'c.wav'):
        write(mixes / name, tone(0.5))
    locked = tmp_path / 'sep'
    locked.mkdir()
    _deny(monkeypatch, locked, os.W_OK)
    status, _, err = separate(capsys, model_path, '-i', mixes, '-o', locked)
    assert_failed(status, err, names=[locked, 'not writable'])
    assert not os.listdir(locked)


# --------------------------------------------------------------------------
# 12. Temporary files of killed runs

def _dead_pid():
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    return child.pid


def _plant(folder, name, age):
    """A temporary file ``name`` in ``folder``, last changed ``age`` seconds ago."""
    path = os.path.join(str(folder), name)
    with open(path, 'wb') as handle:
        handle.write(b'half a file')
    stamp = os.path.getmtime(path) - age
    os.utime(path, (stamp, stamp))
    return path


def test_stale_temporaries_removed_by_the_next_run(tmp_path, capsys, model_path):
    out = tmp_path / 'sep'
    out.mkdir()
    dead = _dead_pid()
    stale = [_plant(out, '.a.wav.{}.partial'.format(dead), 3600),
             _plant(out, '.x.flac.{}.partial'.format(dead), 3600),
             _plant(out, '.x.flac.{}.partial.final'.format(dead), 3600)]
    kept = [_plant(out, '.b.wav.{}.partial'.format(dead), 0),   # fresh: another host's?
            _plant(out, '.c.wav.{}.partial'.format(dead), 3600),
            _plant(out, '.c.wav.{}.partial.final'.format(dead), 0),  # its twin is fresh
            _plant(out, '.d.wav.{}.partial'.format(os.getppid()), 3600),   # process lives
            _plant(out, '.e.wav.{}.partial'.format(os.getpid()), 3600),
            _plant(out, '.notes', 3600)]                          # not of our naming
    source = write(tmp_path / 'in.wav', tone(0.5))
    status, _, err = separate(capsys, model_path, '-i', source, '-o', out / 'in.wav')
    assert status == 0, err
    assert 'removed 3 temporary files' in err
    assert not any(os.path.exists(p) for p in stale)
    assert all(os.path.exists(p) for p in kept)

    (tmp_path / 'scores').mkdir()
    _plant(tmp_path / 'scores', '.scores.csv.{}.partial'.format(dead), 3600)
    make_refs(tmp_path / 'mix')
    status, _, err = run(evaluate, ['-i', tmp_path / 'mix', '--oracle', 'irm',
                                    '--csv', tmp_path / 'scores' / 'scores.csv'], capsys)
    assert status == 0, err
    assert 'removed 1 temporary file left' in err
    assert os.listdir(tmp_path / 'scores') == ['scores.csv']


def test_music_out_that_is_the_speech_output_through_a_link_is_refused(tmp_path, capsys,
                                                                        model_path):
    """-o out/x.wav --music-out mlink/x.wav, mlink a link to out: both were
    written through one temporary, the speech file left holding the music."""
    source = write(tmp_path / 'in.wav', tone(1.0))
    (tmp_path / 'out').mkdir()
    (tmp_path / 'mlink').symlink_to('out')
    status = make_separate.main(['-i', source, '-o', str(tmp_path / 'out' / 'x.wav'),
                                 '--music-out', str(tmp_path / 'mlink' / 'x.wav'),
                                 '-m', model_path, '--shifts', '1', '--speeds', '1'])
    assert status == 1
    assert 'the same file as the speech output' in capsys.readouterr().err
    assert os.listdir(str(tmp_path / 'out')) == []
