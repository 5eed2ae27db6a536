"""The benchmark scripts' argument checks and clean-up (no real separation)."""
import argparse
import csv
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'benchmarks'))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

import report_accuracy  # noqa: E402
import separate_speed  # noqa: E402
import train_speed  # noqa: E402


@pytest.fixture(autouse=True)
def no_debug(monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)


class FakeChild:
    """Stands in for subprocess.Popen: ``behaviour`` runs in wait()."""
    made = []

    def __init__(self, command, behaviour, **kwargs):
        self.command, self.behaviour = command, behaviour
        self.returncode = None
        self.terminated = False
        self.pid = -1
        FakeChild.made.append(self)

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            if self.terminated:
                self.returncode = -15
            else:
                self.returncode = self.behaviour(self)
        return self.returncode

    def terminate(self):
        self.terminated = True

    def kill(self):
        self.terminated = True


def fake_popen(monkeypatch, behaviour):
    FakeChild.made = []
    monkeypatch.setattr(subprocess, 'Popen',
                        lambda command, **kwargs: FakeChild(command, behaviour, **kwargs))
    monkeypatch.setattr(subprocess, 'run', lambda *a, **k: pytest.fail('ran ' + str(a)))


def one_error_line(capsys, prog):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(prog + ': '), err
    return err[0]


# --------------------------------------------------------------------------
# report_accuracy.py

def never(child):
    pytest.fail('separated: ' + ' '.join(child.command))


@pytest.mark.parametrize('option', [['--passages', '0'], ['--passages', '-1'],
                                    ['--passages', 'nan'], ['--passages', '5', 'inf'],
                                    ['--threshold', 'nan'], ['--passages', '5',
                                                             '--gate-music', 'nan']])
def test_report_accuracy_checks_numbers_before_separating(tmp_path, capsys, monkeypatch,
                                                          option):
    fake_popen(monkeypatch, never)
    monkeypatch.setattr(report_accuracy.common, 'print_machine', lambda *a, **k: None)
    assert report_accuracy.main(['-i', str(tmp_path), '--workdir', str(tmp_path)]
                                + option) == 1
    assert one_error_line(capsys, 'report_accuracy.py').startswith(
        'report_accuracy.py: error: ' + option[-2 if option[-2].startswith('--') else 0])
    assert not FakeChild.made and os.listdir(tmp_path) == []


def test_report_accuracy_refuses_a_missing_workdir_and_estimates(tmp_path, capsys,
                                                                 monkeypatch):
    fake_popen(monkeypatch, never)
    monkeypatch.setattr(report_accuracy.common, 'print_machine', lambda *a, **k: None)
    missing = str(tmp_path / 'missing')
    assert report_accuracy.main(['-i', str(tmp_path), '--workdir', missing]) == 1
    assert one_error_line(capsys, 'report_accuracy.py') == (
        'report_accuracy.py: error: --workdir {}: no such folder'.format(missing))
    work = tmp_path / 'work'
    work.mkdir()
    assert report_accuracy.main(['-i', str(tmp_path), '--estimates', str(work)]) == 1
    assert 'no report.csv' in one_error_line(capsys, 'report_accuracy.py')
    # A report without music estimates, tabulated with --passages.
    speech = work / 'speech.wav'
    speech.write_bytes(b'')
    (tmp_path / 'manifest.csv').write_text('name,snr_db\na,3.0\n')
    with open(work / 'report.csv', 'w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['input', 'output', 'music_output', 'status', 'speech_to_music_db'])
        writer.writerow([str(tmp_path / 'a.wav'), str(speech), '', 'separated', '3.0'])
    assert report_accuracy.main(['-i', str(tmp_path), '--estimates', str(work),
                                 '--passages', '5']) == 1
    assert 'music estimate' in one_error_line(capsys, 'report_accuracy.py')
    assert not FakeChild.made


def evaluation_items(folder, snrs=(0.0, 5.0)):
    """Items as make_dataset.py --refs writes them (a tone under noise at
    each SNR, references beside, manifest.csv) and a make_separate.py
    --report of them in ``folder/work`` whose reported ratio is the truth
    plus 1 dB; returns the work folder."""
    rng = np.random.default_rng(0)
    items = folder / 'items'
    items.mkdir()
    rows = []
    for snr in snrs:
        name = 'item{:g}'.format(snr)
        speech = 0.1 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)
        noise = rng.standard_normal(8000)
        music = noise * np.sqrt(np.mean(speech ** 2) / np.mean(noise ** 2)) * 10 ** (-snr / 20)
        for tag, audio in (('', speech + music), ('.speech', speech), ('.music', music)):
            sf.write(str(items / (name + tag + '.wav')), audio, 16000, subtype='FLOAT')
        rows.append((name, snr))
    (items / 'manifest.csv').write_text(
        'name,snr_db\n' + ''.join('{},{}\n'.format(*row) for row in rows))
    work = folder / 'work'
    work.mkdir()
    with open(work / 'report.csv', 'w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['input', 'status', 'speech_to_music_db'])
        for name, snr in rows:
            writer.writerow([str(items / (name + '.wav')), 'separated', snr + 1.0])
    return work


def test_report_accuracy_estimates_are_of_the_items_their_report_names(tmp_path, capsys,
                                                                       monkeypatch):
    """``--estimates`` tabulates the items its report separated; an -i of
    other items is refused, not silently ignored."""
    fake_popen(monkeypatch, never)
    work = evaluation_items(tmp_path)
    other = tmp_path / 'other'
    other.mkdir()
    assert report_accuracy.main(['-i', str(other), '--estimates', str(work)]) == 1
    line = one_error_line(capsys, 'report_accuracy.py')
    assert 'separated the items in {}'.format(tmp_path / 'items') in line
    assert '-i {}'.format(other) in line
    for given in ([], ['-i', str(tmp_path / 'items')], ['-i', str(tmp_path)]):
        assert report_accuracy.main(given + ['--estimates', str(work)]) == 0
        out = capsys.readouterr().out
        assert str(tmp_path / 'items') in out or given
        assert 'mixtures (2 files): correlation 1.000, mean absolute error 1.00 dB' in out
    (tmp_path / 'items' / 'manifest.csv').unlink()
    assert report_accuracy.main(['--estimates', str(work)]) == 1
    assert 'no manifest.csv beside it' in one_error_line(capsys, 'report_accuracy.py')


def interrupt(child):
    raise KeyboardInterrupt


def terminate(child):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    pytest.fail('SIGTERM did not stop the wait')


@pytest.mark.parametrize('behaviour,status,line', [
    (interrupt, 130, 'report_accuracy.py: interrupted'),
    (terminate, 143, 'report_accuracy.py: terminated'),
    (lambda child: 2, 1, 'report_accuracy.py: error: make_separate.py failed (exit status 2)')])
def test_report_accuracy_stops_the_child_and_removes_the_work_folder(
        tmp_path, capsys, monkeypatch, behaviour, status, line):
    fake_popen(monkeypatch, behaviour)
    monkeypatch.setattr(report_accuracy.common, 'print_machine', lambda *a, **k: None)
    work = tmp_path / 'work'
    work.mkdir()
    assert report_accuracy.main(['-i', str(tmp_path), '--workdir', str(work)]) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [line]
    assert len(FakeChild.made) == 1
    child = FakeChild.made[0]
    assert child.returncode is not None          # waited for
    assert child.terminated == (status != 1)
    assert os.listdir(work) == []


# --------------------------------------------------------------------------
# separate_speed.py

@pytest.mark.parametrize('option,start', [
    (['-l', 'nan'], '--lengths'), (['-l', '10', 'inf'], '--lengths'),
    (['--profile', 'nan'], '--profile'), (['--profile', 'inf'], '--profile'),
    (['--sep-args', '--shifts "1'], '--sep-args'),
    (['--profile', '5', '-l', '10'], '--profile'), (['--profile', '-r', '3'], '--profile'),
    (['--profile', '--sep-args=--shifts 1'], '--profile')])
def test_separate_speed_refuses_bad_options_in_one_line(tmp_path, capsys, monkeypatch,
                                                        option, start):
    monkeypatch.setattr(separate_speed.tempfile, 'mkdtemp',
                        lambda **k: pytest.fail('made a work folder'))
    assert separate_speed.main(option) == 1
    assert one_error_line(capsys, 'separate_speed.py').startswith(
        'separate_speed.py: error: ' + start)


def test_separate_speed_reports_a_workdir_it_cannot_write_in_one_line(tmp_path, capsys,
                                                                      monkeypatch):
    def refuse(**kwargs):
        raise PermissionError(13, 'Permission denied')
    monkeypatch.setattr(separate_speed.tempfile, 'mkdtemp', refuse)
    assert separate_speed.main(['-w', str(tmp_path), '-l', '1']) == 1
    assert one_error_line(capsys, 'separate_speed.py') == (
        'separate_speed.py: error: --workdir {}: cannot make the temporary folder there '
        '(Permission denied)'.format(tmp_path))


def test_separate_speed_makes_a_relative_workdir_absolute(tmp_path, monkeypatch):
    (tmp_path / 'sub').mkdir()
    monkeypatch.chdir(tmp_path)
    seen = []
    monkeypatch.setattr(separate_speed, 'resolve_model', lambda path, workdir, seed: (
        'model', 'model'))
    monkeypatch.setattr(separate_speed, 'print_settings', lambda *a: None)
    monkeypatch.setattr(separate_speed, 'benchmark',
                        lambda args, model, workdir: seen.append(workdir) or 0)
    assert separate_speed.main(['-w', 'sub', '-l', '1', '-b', '1']) == 0
    assert os.path.isabs(seen[0])
    assert os.path.dirname(seen[0]) == str(tmp_path / 'sub')
    assert os.listdir(tmp_path / 'sub') == []


def test_separate_speed_stops_its_child_when_terminated(tmp_path, monkeypatch, capsys):
    import threading
    import cli
    made = []
    real_popen = subprocess.Popen

    def spying(*args, **kwargs):
        made.append(real_popen(*args, **kwargs))
        return made[-1]
    monkeypatch.setattr(subprocess, 'Popen', spying)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        status = cli.run('separate_speed.py', lambda: separate_speed.run_measured(
            [sys.executable, '-c', 'import time; time.sleep(60)'], str(tmp_path / 'log')))
        assert status == 143
        assert len(made) == 1 and made[0].poll() is not None
    finally:
        timer.cancel()
        for process in made:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_separate_speed_times_with_the_known_audio_length(tmp_path):
    log = tmp_path / 'log'
    log.write_text('separated 1 of 1 file (0.0 s of audio in 0.5 s, real-time factor '
                   '50.000) into out\n')
    assert separate_speed.reported_seconds(str(log), 0.01) == pytest.approx(0.5)
    log.write_text('separated 1 of 1 file (2.3 s of audio in 1.1 s, real-time factor '
                   '0.500) into out\n')
    assert separate_speed.reported_seconds(str(log), 2.26) == pytest.approx(1.13)
    # Long mixtures: the elapsed seconds are finer than factor x length.
    log.write_text('separated 1 of 1 file (3600.0 s of audio in 1234.5 s, real-time factor '
                   '0.343) into out\n')
    assert separate_speed.reported_seconds(str(log), 3600.0) == pytest.approx(1234.5)


# --------------------------------------------------------------------------
# train_speed.py

def test_train_speed_refuses_unknown_and_gpu_communicators(capsys, monkeypatch):
    monkeypatch.setattr(train_speed, 'measure_ranks', lambda *a: pytest.fail('launched'))
    monkeypatch.setattr(train_speed, 'measure_single', lambda *a: pytest.fail('measured'))
    with pytest.raises(SystemExit) as stop:
        train_speed.main(['-n', '2', '--communicator', 'bogus'])
    assert stop.value.code == 2
    assert 'invalid choice' in capsys.readouterr().err
    for name in ('pure_nccl', 'flat', 'non_cuda_aware'):
        assert train_speed.main(['-n', '2', '--communicator', name]) == 1
        assert one_error_line(capsys, 'train_speed.py').startswith(
            'train_speed.py: error: --communicator {}: needs GPUs'.format(name))


def test_train_speed_refuses_a_missing_mpiexec(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train_speed, 'measure_ranks', lambda *a: pytest.fail('launched'))
    monkeypatch.setattr(train_speed, 'measure_single', lambda *a: pytest.fail('measured'))
    missing = str(tmp_path / 'nonexistent')
    assert train_speed.main(['-n', '2', '--mpiexec', missing]) == 1
    assert one_error_line(capsys, 'train_speed.py') == (
        'train_speed.py: error: --mpiexec {}: not found or not executable'.format(missing))


# --------------------------------------------------------------------------
# scripts/noise_leak.py

@pytest.mark.parametrize('option', [['--items', '0'], ['--items', '-2'], ['--seconds', '0'],
                                    ['--seconds', 'nan'], ['--seconds', 'inf'],
                                    ['--seconds', '-1']])
def test_noise_leak_refuses_bad_numbers_in_one_line(capsys, monkeypatch, option):
    import noise_leak
    monkeypatch.setattr(noise_leak.make_separate, 'load_separator',
                        lambda *a, **k: pytest.fail('loaded a model'))
    assert noise_leak.main(['unet.model'] + option) == 1
    assert one_error_line(capsys, 'noise_leak.py').startswith(
        'noise_leak.py: error: ' + option[0])


def test_separate_speed_keeps_the_log_of_every_run(tmp_path, monkeypatch, capsys):
    logs = []

    def measured(command, log_path):
        with open(log_path, 'w') as log:
            log.write('separated 1 of 1 file (0.1 s of audio in 0.1 s, real-time factor '
                      '1.000) into out\n')
        logs.append(log_path)
        return dict(status=0, wall=1.0, cpu=1.0, peak_rss=2 ** 20)
    monkeypatch.setattr(separate_speed, 'run_measured', measured)
    monkeypatch.setattr(separate_speed.common, 'print_machine', lambda *a, **k: None)
    args = separate_speed.build_parser().parse_args(
        ['-l', '0.1', '0.2', '-b', '1', '2', '-r', '2', '-w', str(tmp_path)])
    assert separate_speed.benchmark(args, 'model', str(tmp_path)) == 0
    assert len(set(logs)) == 8
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in logs)


@pytest.mark.parametrize('script', ['separate_speed', 'report_accuracy', 'train_speed',
                                    'example_speed'])
def test_the_readme_documents_every_option_in_the_scripts_section(script):
    """benchmarks/README.md had left out separate_speed.py's --encode,
    --subtype and --seed, report_accuracy.py's --passages, --gate-music,
    --estimates, --workdir, --keep and --markdown, train_speed.py's
    --patchlength and example_speed.py's --warmup. --markdown, which every
    script has, is documented once above the sections."""
    import example_speed
    parser = {'separate_speed': separate_speed, 'report_accuracy': report_accuracy,
              'train_speed': train_speed, 'example_speed': example_speed}[script].build_parser()
    with open(os.path.join(ROOT, 'benchmarks', 'README.md')) as handle:
        readme = handle.read()
    section = readme.split('\n## {}.py'.format(script), 1)[1].split('\n## ', 1)[0]
    options = [option for action in parser._actions if action.help != argparse.SUPPRESS
               for option in action.option_strings[:1]
               if option.startswith('--') and option not in ('--help', '--markdown')]
    assert options and [o for o in options if not re.search(
        r'(?<![\w-]){}(?![\w-])'.format(o), section)] == []
    assert '`--markdown` prints' in readme.split('\n## ', 1)[0]
