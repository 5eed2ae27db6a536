"""Issue 12, second pass: bad settings, damaged files and full disks end in
one line and leave nothing half-written; the quick start leaves git clean.

As in test_errors.py, every case drives a real ``main([...])`` and reads
stderr with ``capsys``. Tests run as root, so a read-only folder is
simulated through ``os.access`` and a full disk by a writer that raises
``ENOSPC`` part-way through a file.
"""
import errno
import fcntl
import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT
from test_errors import three_npz, training

import make_dataset  # noqa: E402
import make_separate  # noqa: E402
import train  # noqa: E402
import util  # noqa: E402


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    """One-line errors and no loss.png (matplotlib costs seconds per run)."""
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)
    monkeypatch.setattr(train.extensions.PlotReport, 'available', staticmethod(lambda: False))


def run(module, argv, capsys):
    """``(status, stdout, stderr)`` of ``module.main(argv)``."""
    capsys.readouterr()
    status = module.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_error(status, err, prog, *words):
    """Status 1 and exactly one line ``prog: error: ...`` holding ``words``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 1 and len(lines) == 1, err
    assert lines[0].startswith(prog + ': error: '), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def leftovers(folder):
    return [os.path.join(root, name) for root, _, names in os.walk(str(folder))
            for name in names if '.partial' in name]


class FullFile(io.FileIO):
    """A file on a disk that fills up after ``room`` bytes."""
    room = 100

    def write(self, data):
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, 'No space left on device')
        return super().write(data)


def record_unraisable(monkeypatch):
    """A list that collects what Python would print as "Exception ignored in
    ..." (a ZipFile left open by np.savez, say) after the error line."""
    ignored = []
    monkeypatch.setattr(sys, 'unraisablehook', lambda u: ignored.append(
        '{}: {!r}'.format(u.object, u.exc_value)))
    return ignored


def full_open(path, mode='r', *args, **kwargs):
    if 'w' in mode:
        return FullFile(path, 'w')
    return open(path, mode, *args, **kwargs)


# --------------------------------------------------------------------------
# make_dataset.py (items 3, 8, 14)

def dataset(capsys, dirs, tmp_path, *extra):
    music, speech = dirs
    return run(make_dataset, ['-m', music, '-s', speech, '-t', tmp_path / 'stft',
                              '-o', tmp_path / 'mixdown'] + list(extra), capsys)


def good_npz(tmp_path):
    """A good ``stft/s1_m1.npz`` from an earlier run; returns its bytes."""
    path = tmp_path / 'stft' / 's1_m1.npz'
    os.makedirs(str(path.parent), exist_ok=True)
    np.savez(str(path), mix=np.ones((513, 4), np.float32))
    return path.read_bytes()


@pytest.mark.parametrize('argv, words', [
    (['-r', 'nan'], ['-r']), (['-r', 'inf'], ['-r']), (['-r', '-1'], ['-r']),
    (['--snr', 'nan'], ['--snr']), (['--snr', 'inf'], ['--snr']),
    (['--snr', '-5', 'inf'], ['--snr']), (['--snr', '0', 'nan'], ['--snr']),
    (['--seed', '-1'], ['--seed']), (['-b', '0'], ['-b'])])
def test_dataset_bad_settings_refused_before_any_work(argv, words, tmp_path, capsys,
                                                      speech_music_dirs):
    before = good_npz(tmp_path)
    status, out, err = dataset(capsys, speech_music_dirs, tmp_path, *argv)
    line = one_error(status, err, 'make_dataset.py', *words)
    assert 'warnings above' not in line
    assert os.listdir(tmp_path / 'stft') == ['s1_m1.npz']
    assert (tmp_path / 'stft' / 's1_m1.npz').read_bytes() == before
    assert not os.path.exists(tmp_path / 'mixdown')


def test_dataset_never_writes_nan(tmp_path, capsys, speech_music_dirs, monkeypatch):
    """Whatever makes a mixture non-finite, the pair is skipped before any
    of its files is written: no NaN npz replaces an earlier run's file of
    the same name, which is removed with the warning, as it no longer
    matches the pair's inputs."""
    good_npz(tmp_path)
    monkeypatch.setattr(make_dataset, 'speech_gain', lambda *a: float('nan'))
    status, _, err = dataset(capsys, speech_music_dirs, tmp_path, '--snr', '0')
    assert status == 1
    assert 'not finite' in err and 'warnings above' in err
    assert 'not finite; removed s1_m1.npz of an earlier run' in err
    assert os.listdir(tmp_path / 'stft') == []
    assert os.listdir(tmp_path / 'mixdown') == []


def test_dataset_disk_full_inside_the_zip(tmp_path, capsys, speech_music_dirs, monkeypatch):
    """The disk fills while np.savez writes: one line, no ZipFile traceback
    after it, no partial file."""
    monkeypatch.setattr(util, 'open', full_open, raising=False)
    ignored = record_unraisable(monkeypatch)
    status, _, err = dataset(capsys, speech_music_dirs, tmp_path)
    one_error(status, err, 'make_dataset.py', 'No space left')
    assert ignored == []
    assert os.listdir(tmp_path / 'stft') == []
    assert not leftovers(tmp_path)


@pytest.mark.parametrize('name', ['x.txt', 'x.wav', 'x.FLAC', 'a_file'])
@pytest.mark.parametrize('option', ['-o', '-t'])
def test_dataset_output_folder_named_like_a_file(name, option, tmp_path, capsys,
                                                 speech_music_dirs):
    (tmp_path / 'a_file').write_text('keep me')
    music, speech = speech_music_dirs
    argv = {'-t': tmp_path / 'stft', '-o': tmp_path / 'mixdown'}
    argv[option] = tmp_path / name
    status, _, err = run(make_dataset, ['-m', music, '-s', speech, '-t', argv['-t'],
                                        '-o', argv['-o']], capsys)
    one_error(status, err, 'make_dataset.py', option, name)
    assert (tmp_path / 'a_file').read_text() == 'keep me'
    assert not any(os.path.isdir(tmp_path / n) for n in ('x.txt', 'x.wav', 'x.FLAC'))


def test_dataset_help_states_the_memory_need():
    text = make_dataset.build_parser().format_help()
    assert 'GB' in text and 'hour' in text


# --------------------------------------------------------------------------
# train.py (items 7, 12, 14)

def truncate(source, target):
    data = open(str(source), 'rb').read()
    with open(str(target), 'wb') as handle:
        handle.write(data[:len(data) // 2])


def test_train_skips_truncated_npz_in_stft_and_val_dir(tmp_path, capsys):
    stft = three_npz(tmp_path / 'stft')
    val = three_npz(tmp_path / 'val')
    truncate(stft / 'i0.npz', stft / 'cut.npz')
    truncate(val / 'i0.npz', val / 'cutval.npz')
    status, out, err = training(capsys, stft, tmp_path / 'result', '--stop', '1',
                                '--val-dir', val)
    assert status == 0, err
    warnings = [line for line in err.splitlines() if line.strip()]
    assert len(warnings) == 2 and all(w.startswith('warning: skipped') for w in warnings)
    assert 'cut.npz' in err and 'cutval.npz' in err
    assert '3 files' in out and 'validation 3 files' in out


@pytest.mark.parametrize('argv, words', [
    (['--seed', '-1'], ['--seed']), (['--val', 'nan'], ['--val']), (['--val', '2'], ['--val']),
    (['-e', '0'], ['-e']), (['--stop', '-1'], ['--stop']),
    (['--lr', 'nan'], ['--lr']), (['--lr', 'inf'], ['--lr']),
    (['--lr-end', 'nan'], ['--lr-end']),
    (['--dropout', '1'], ['--dropout']), (['--dropout', 'nan'], ['--dropout']),
    (['--dropout', '-0.1'], ['--dropout']),
    (['--mix', '--snr', 'nan', '5'], ['--snr']), (['--mix', '--snr', '5', 'nan'], ['--snr']),
    (['--mix', '--speed', 'nan', '1'], ['--speed']),
    (['--mix', '--alone', 'nan', '0.1'], ['--alone']),
    (['--mix', '--two-music', 'nan'], ['--two-music'])])
def test_train_bad_numbers_are_one_line(argv, words, tmp_path, capsys):
    stft = three_npz(tmp_path / 'stft')
    status, _, err = training(capsys, stft, tmp_path / 'result', *argv)
    one_error(status, err, 'train.py', *words)
    assert not os.path.exists(tmp_path / 'result')


def test_train_output_is_a_file(tmp_path, capsys):
    stft = three_npz(tmp_path / 'stft')
    (tmp_path / 'result').write_text('keep me')
    status, _, err = training(capsys, stft, tmp_path / 'result', '--stop', '1')
    one_error(status, err, 'train.py', '-o', 'result', 'not a folder')
    assert (tmp_path / 'result').read_text() == 'keep me'


def test_train_output_folder_read_only(tmp_path, capsys, monkeypatch):
    stft = three_npz(tmp_path / 'stft')
    out = tmp_path / 'result'
    out.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, 'access', lambda path, mode, **kw: False if os.path.realpath(
        str(path)) == str(out) and mode & os.W_OK else real_access(path, mode, **kw))
    status, _, err = training(capsys, stft, out, '--stop', '1')
    one_error(status, err, 'train.py', 'result', 'not writable')
    assert os.listdir(out) == []


def test_train_output_folder_refuses_writes(tmp_path, capsys, monkeypatch):
    """The folder looks writable but a write is refused (a read-only mount)."""
    stft = three_npz(tmp_path / 'stft')

    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, 'Permission denied')
    monkeypatch.setattr(train.chainer.serializers.npz, 'open', refuse, raising=False)
    status, _, err = training(capsys, stft, tmp_path / 'result', '--stop', '1')
    one_error(status, err, 'train.py', 'result', 'Permission denied')


def test_train_disk_full_while_writing_a_snapshot(tmp_path, capsys, monkeypatch):
    stft = three_npz(tmp_path / 'stft')
    out = tmp_path / 'result'
    monkeypatch.setattr(train.chainer.serializers.npz, 'open', full_open, raising=False)
    ignored = record_unraisable(monkeypatch)
    status, _, err = training(capsys, stft, out, '--stop', '1')
    assert ignored == []
    one_error(status, err, 'train.py', 'result', 'No space left')
    assert not [n for n in os.listdir(out) if n.startswith(('model_', 'snapshot_', 'tmp'))]


def stale_temporaries(out, age=3600):
    """Folders as Chainer's writers leave them when killed, ``age`` s old."""
    names = ['tmpsnapshot_iter_3a8b_x9k2', 'tmpmodel_3q1w2e3r4', 'tmpmodel_bestzz01abcd']
    for name in names:
        os.makedirs(str(out / name))
        (out / name / 'snapshot_iter_3').write_bytes(b'half')
        then = time.time() - age
        os.utime(str(out / name / 'snapshot_iter_3'), (then, then))
        os.utime(str(out / name), (then, then))
    (out / 'tmpnotes').mkdir()          # not Chainer's naming: kept
    (out / 'tmpmodel_4abcdefgh').write_text('a file, not a folder: kept')
    return names


def test_train_removes_stale_chainer_temporaries(tmp_path, capsys):
    """Old ones go; one touched after the run began (a live writer's) stays."""
    stft = three_npz(tmp_path / 'stft')
    out = tmp_path / 'result'
    stale_temporaries(out)
    os.makedirs(str(out / 'tmpsnapshot_iter_9fresh123'))
    status, _, err = training(capsys, stft, out, '--stop', '1')
    assert status == 0, err
    left = sorted(n for n in os.listdir(out) if n.startswith('tmp'))
    assert left == ['tmpmodel_4abcdefgh', 'tmpnotes', 'tmpsnapshot_iter_9fresh123']
    assert 'removed 3 stale' in err


def test_train_keeps_temporaries_another_writer_may_own(tmp_path, capsys):
    """A live train.py holds the folder's lock: the run is refused in one
    line, and that run's temporaries stay."""
    stft = three_npz(tmp_path / 'stft')
    out = tmp_path / 'result'
    names = stale_temporaries(out)
    with open(str(out / train.LOCK_FILE), 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        status, _, err = training(capsys, stft, out, '--stop', '1')
    assert status == 1
    assert set(names) <= set(os.listdir(out))
    assert 'another train.py is training into it' in err


@pytest.mark.parametrize('terminal', [False, True])
def test_train_progress_bar_only_on_a_terminal(terminal, tmp_path, monkeypatch, capsys):
    """Off a terminal: PrintReport's epoch lines, without the escape code
    that clears a bar, and no ProgressBar."""
    monkeypatch.setattr(sys.stdout, 'isatty', lambda: terminal, raising=False)
    args = train.build_parser().parse_args(['-o', str(tmp_path / 'result'), '-b', '2',
                                            '-l', '64'])
    items = train.load_items([str(p) for p in sorted(three_npz(tmp_path / 'stft').iterdir())])
    patches = train.RandomPatchDataset(items, 64, 2)
    trainer = train.build_trainer(args, train.network.UNet(), patches, None)
    assert ('ProgressBar' in trainer._extensions) == terminal
    report = trainer.get_extension('PrintReport')
    capsys.readouterr()
    report._out.write('\033[J')
    report._out.write('1  2  0.5\n')
    written = capsys.readouterr().out
    assert written == ('\033[J1  2  0.5\n' if terminal else '1  2  0.5\n')


# --------------------------------------------------------------------------
# make_separate.py summary (item 14) and the quick start (item 13)

def test_summary_without_audio_has_no_real_time_factor(capsys):
    failures = ['a.wav: exists; use --overwrite to replace it'] * 3
    status = make_separate.print_summary(3, failures, 0.0, 0.0035, 'separate')
    out = capsys.readouterr().out
    assert status == 1
    assert 'separated 0 of 3 files' in out
    assert '3500000' not in out and 'real-time factor' not in out


def test_make_separates_only_the_samples_into_ignored_files():
    """`make` runs make_separate.py on each tracked mixdown/sample*.wav and
    writes only git-ignored files, so a fresh clone stays clean."""
    dry = subprocess.run(['make', '-n', '-B', 'separate', 'PYTHON=python3'], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    commands = [line.split() for line in dry.stdout.splitlines() if 'make_separate.py' in line]
    samples = subprocess.run(['git', 'ls-files', 'mixdown/sample*.wav'], cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert samples and len(commands) == len(samples)
    inputs = sorted(c[c.index('-i') + 1] for c in commands)
    outputs = [c[c.index('-o') + 1] for c in commands]
    assert inputs == sorted(samples)
    tracked = subprocess.run(['git', 'ls-files', '--'] + outputs, cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert tracked == []
    ignored = subprocess.run(['git', 'check-ignore', '--no-index', '--'] + outputs, cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    assert sorted(ignored) == sorted(outputs)
