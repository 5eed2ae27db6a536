"""Scale-out (docs/SCALING.md): train.py --communicator and make_separate.py
under ``mpiexec -n 2``, on tiny synthetic data in ``tmp_path``.

The MPI runs need ``mpiexec`` on PATH (``make test`` installs the mpich wheel
into .venv and puts .venv/bin first) and are skipped without it. Every
process is held to one BLAS thread; each launch has a time limit after which
its whole process group is killed, so a hung rank cannot stall the suite.
"""
import csv
import fcntl
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, make_npz, noise_bursts, tone, write

import make_separate
import train

MPIEXEC = shutil.which('mpiexec')
needs_mpiexec = pytest.mark.skipif(
    MPIEXEC is None, reason='mpiexec is not on PATH (run `make mpi` and put .venv/bin '
                            'on PATH, as `make test` does)')
TIMEOUT = 150   # seconds for one mpiexec launch


def mpiexec(n):
    """``mpiexec -n n`` for the MPI on PATH (Open MPI needs --oversubscribe
    on a machine with fewer cores than processes; MPICH needs nothing)."""
    version = subprocess.run([MPIEXEC, '--version'], capture_output=True, text=True,
                             timeout=30)
    command = [MPIEXEC, '-n', str(n)]
    if 'open mpi' in (version.stdout + version.stderr).lower():
        command.append('--oversubscribe')
    return command


def start(command, cwd, **env):
    """Start ``command`` in its own session, one BLAS thread a process, with
    no launcher's rank variables and no SPEECHSEP_DEBUG inherited."""
    environment = dict(os.environ, OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1',
                       MKL_NUM_THREADS='1', **env)
    for name in ('PMI_RANK', 'PMI_SIZE', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
                 'SPEECHSEP_DEBUG'):
        environment.pop(name, None)
    return subprocess.Popen(command, cwd=str(cwd), env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def launch(command, cwd, **env):
    """Run ``command`` as ``start`` does; ``(status, stdout, stderr)``."""
    process = start(command, cwd, **env)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail('timed out after {} s: {}\n{}\n{}'.format(TIMEOUT, command, out, err))
    return process.returncode, out, err


def script(name):
    return [sys.executable, os.path.join(ROOT, name)]


# --------------------------------------------------------------------------
# train.py --communicator

def train_command(stft, out, *extra, save_ranks=None):
    """train.py on two ranks; with ``save_ranks`` (a folder) each rank saves
    its final U-Net there (tests/train_saving_ranks.py)."""
    runner = (script('train.py') if save_ranks is None else
              script(os.path.join('tests', 'train_saving_ranks.py')) + [save_ranks])
    return mpiexec(2) + runner + [
        '-t', stft, '-o', out, '-b', '2', '-l', '64', '--init', 'none',
        '--communicator', 'naive'] + list(extra)


def load(path):
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope='module')
def two_rank_run(tmp_path_factory):
    """Two iterations on two processes; each rank dumps its final U-Net."""
    base = tmp_path_factory.mktemp('mpi_train')
    # 3 training files of 100 frames: 4 patches of 64 frames an epoch, 2 a
    # rank, so with -b 2 every iteration ends an epoch and writes model_N.
    stft = make_npz(str(base / 'stft'), count=4, frames=100)
    out, dump = str(base / 'result'), str(base / 'ranks')
    os.makedirs(dump)
    status, stdout, stderr = launch(train_command(stft, out, '--stop', '2', save_ranks=dump),
                                    base)
    assert status == 0, stdout + stderr
    return dict(base=base, stft=stft, out=out, dump=dump, stdout=stdout)


@needs_mpiexec
def test_sigterm_to_mpiexec_ends_every_rank(tmp_path):
    """mpiexec passes a SIGTERM on to both ranks; one that stops while the
    other waits for it in a gradient exchange (in MPI's C code, where no
    signal handler runs) must end the run, not leave it waiting for ever."""
    stft = make_npz(str(tmp_path / 'stft'), count=4, frames=100)
    out = tmp_path / 'result'
    process = start(train_command(stft, str(out), '--stop', '100000'), tmp_path)
    try:
        deadline = time.time() + TIMEOUT
        while not os.path.exists(out / 'model_4'):     # well into training
            assert process.poll() is None and time.time() < deadline, process.stderr.read()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)            # to mpiexec alone, as `kill PID`
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail('the ranks were still running 60 s after SIGTERM')
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode != 0
    assert 'train.py: terminated' in err and 'Traceback' not in err, err
    assert not [name for name in os.listdir(out) if name.startswith('tmp')]


@needs_mpiexec
def test_every_rank_ends_with_the_model_rank_0_wrote(two_rank_run):
    written = load(os.path.join(two_rank_run['out'], 'model_2'))
    first = load(os.path.join(two_rank_run['out'], 'model_1'))
    # The ranks start from different random weights (seed + rank) and crop
    # different patches: only the broadcast and the gradient all-reduce
    # make them agree, batch-norm statistics included.
    for rank in (0, 1):
        mine = load(os.path.join(two_rank_run['dump'], 'rank{}.npz'.format(rank)))
        assert sorted(mine) == sorted(written)
        for key in written:
            np.testing.assert_array_equal(mine[key], written[key], err_msg=key)
    assert not np.array_equal(first['conv1/W'], written['conv1/W'])   # an Adam step was taken


@needs_mpiexec
def test_only_rank_0_prints_and_writes(two_rank_run):
    out = two_rank_run['out']
    found = [os.path.relpath(p, out) for p in glob.glob(os.path.join(out, '**', '*'),
                                                        recursive=True)]
    assert [f for f in found if 'log' in f] == ['log']
    assert [f for f in found if f.endswith('.png')] == ['loss.png']
    assert [f for f in found if f.endswith('.json')] == ['args.json']
    assert two_rank_run['stdout'].count('# Minibatch-size') == 1
    assert '# communicator: naive over 2 processes' in two_rank_run['stdout']
    with open(os.path.join(out, 'log')) as handle:
        log = json.load(handle)
    assert [entry['iteration'] for entry in log][-1] == 2
    assert all(np.isfinite(entry['validation/main/loss']) for entry in log)
    with open(os.path.join(out, 'args.json')) as handle:
        assert json.load(handle)['communicator'] == 'naive'


@needs_mpiexec
def test_every_rank_resumes_from_the_same_snapshot(two_rank_run):
    base = two_rank_run['base']
    out, dump = str(base / 'resumed'), str(base / 'resumed_ranks')
    os.makedirs(dump)
    snapshot = os.path.join(two_rank_run['out'], 'snapshot_iter_2')
    status, stdout, stderr = launch(
        train_command(two_rank_run['stft'], out, '--stop', '3', '-r', snapshot,
                      save_ranks=dump), base)
    assert status == 0, stdout + stderr
    # A rank that had not loaded the snapshot would still be at iteration 0
    # and wait for the others' all-reduce until the time limit.
    with open(os.path.join(out, 'log')) as handle:
        assert [entry['iteration'] for entry in json.load(handle)][-1] == 3
    written = load(os.path.join(out, 'model_3'))
    for rank in (0, 1):
        mine = load(os.path.join(dump, 'rank{}.npz'.format(rank)))
        for key in written:
            np.testing.assert_array_equal(mine[key], written[key], err_msg=key)


@needs_mpiexec
def test_a_snapshot_rank_0_refuses_ends_every_rank(tmp_path):
    """Only rank 0 validates, so only it can tell that the snapshot's run had
    no validation: its one line must end the run, not leave rank 1 waiting
    in the gradient exchange."""
    stft = make_npz(str(tmp_path / 'stft'), count=4, frames=100)
    val = make_npz(str(tmp_path / 'val'), count=1, frames=100, seed=7)
    out = str(tmp_path / 'result')
    status, stdout, stderr = launch(train_command(stft, out, '--stop', '1', '--val', '0'),
                                    tmp_path)
    assert status == 0, stdout + stderr
    status, _, stderr = launch(train_command(
        stft, str(tmp_path / 'resumed'), '--stop', '2', '--val', '0', '--val-dir', val,
        '-r', os.path.join(out, 'snapshot_iter_1')), tmp_path)
    assert status != 0
    assert 'had validation off and this one has it on' in stderr
    assert 'Traceback' not in stderr and 'UserWarning' not in stderr, stderr


@needs_mpiexec
def test_a_locked_output_ends_every_rank(tmp_path):
    stft = make_npz(str(tmp_path / 'stft'), count=4, frames=100)
    out = tmp_path / 'result'
    out.mkdir()
    with open(str(out / train.LOCK_FILE), 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)     # as a running train.py holds it
        status, _, stderr = launch(train_command(stft, str(out), '--stop', '2'), tmp_path)
    assert status != 0
    assert 'another train.py is training into it' in stderr and 'Traceback' not in stderr
    assert not [n for n in os.listdir(str(out)) if n.startswith(('model_', 'snapshot_'))]


@needs_mpiexec
def test_mpiexec_without_communicator_is_refused_once(tmp_path):
    """Each process trained alone into the same -o: rank 1 failed on the
    folder rank 0 had claimed, while rank 0 went on by itself."""
    stft = make_npz(str(tmp_path / 'stft'), count=4, frames=100)
    out = str(tmp_path / 'r')
    status, _, stderr = launch(mpiexec(2) + script('train.py') + [
        '-t', stft, '-o', out, '-b', '2', '-l', '64', '--init', 'none', '--stop', '1'],
        tmp_path)
    assert status == 1
    assert stderr.count('train.py: error:') == 1, stderr
    assert 'mpiexec started 2 processes but --communicator was not given' in stderr
    assert not os.path.exists(out)


@needs_mpiexec
def test_a_mistake_every_rank_makes_is_printed_once(tmp_path):
    stft = make_npz(str(tmp_path / 'stft'), count=4, frames=100)
    for mistake in (['--lr', '-1'], ['--init', 'nothere.model'],    # before / after MPI starts
                    ['-g', '0'],                                       # no CuPy here
                    ['-r', os.path.join(ROOT, 'unet.model')],          # a model, not a snapshot
                    ['-r', os.path.join(stft, os.listdir(stft)[0])]):  # an npz of magnitudes
        status, _, stderr = launch(train_command(stft, str(tmp_path / 'r'), *mistake),
                                   tmp_path)
        assert status == 1
        assert stderr.count('train.py: error:') == 1, stderr
        assert mistake[1] in stderr and 'Traceback' not in stderr
        assert 'MPI' not in stderr.replace('mpiexec', ''), stderr     # no launcher's abort


def test_without_communicator_mpi_is_not_imported(tmp_path):
    code = ('import sys, train, make_separate\n'
            'assert train.main(["-t", "missing"]) == 1\n'
            'assert make_separate.main(["-i", "missing"]) == 1\n'
            'assert "mpi4py" not in sys.modules and "chainermn" not in sys.modules\n')
    status, stdout, stderr = launch([sys.executable, '-c', code], tmp_path,
                                    PYTHONPATH=ROOT)
    assert status == 0, stdout + stderr


def test_communicator_without_mpi4py_says_make_mpi(tmp_path):
    fake = tmp_path / 'no_mpi' / 'mpi4py'
    fake.mkdir(parents=True)
    (fake / '__init__.py').write_text('raise ImportError("No module named mpi4py")\n')
    status, stdout, stderr = launch(
        script('train.py') + ['-t', make_npz(str(tmp_path / 'stft'), count=2),
                              '--communicator', 'naive'],
        tmp_path, PYTHONPATH=str(tmp_path / 'no_mpi'))
    assert status == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and 'make mpi' in lines[0] and lines[0].startswith('train.py: error:')


def test_pure_nccl_on_the_cpu_is_refused_before_mpi_starts(tmp_path):
    status, _, stderr = launch(script('train.py') + ['-t', 'missing', '--communicator',
                                                     'pure_nccl'], tmp_path)
    assert status == 1 and 'naive' in stderr and 'Traceback' not in stderr


# --------------------------------------------------------------------------
# make_separate.py under mpiexec

def test_rank_and_size_come_from_the_launcher():
    assert make_separate.mpi_world({}) == (0, 1)
    assert make_separate.mpi_world({'PMI_RANK': '1', 'PMI_SIZE': '3'}) == (1, 3)
    assert make_separate.mpi_world({'OMPI_COMM_WORLD_RANK': '2',
                                    'OMPI_COMM_WORLD_SIZE': '4'}) == (2, 4)
    assert make_separate.mpi_world({'PMI_RANK': 'x', 'PMI_SIZE': '2'}) == (0, 1)
    assert make_separate.mpi_world({'PMI_RANK': '0', 'PMI_SIZE': '1'}) == (0, 1)


def mixtures(folder, count=5):
    for k in range(count):
        write(os.path.join(folder, 'mix{}.wav'.format(k)),
              tone(1.0 + 0.1 * k, freq=200 + 100 * k) + noise_bursts(1.0 + 0.1 * k, seed=k))
    return folder


@needs_mpiexec
def test_a_folder_on_two_ranks_equals_one_process(tmp_path, model_path):
    source = mixtures(str(tmp_path / 'mix'))
    single, shared = str(tmp_path / 'single'), str(tmp_path / 'shared')
    assert make_separate.main(['-i', source, '-o', single, '-m', model_path,
                               '--music-out', single + '_music']) == 0
    status, stdout, stderr = launch(
        mpiexec(2) + script('make_separate.py') + [
            '-i', source, '-o', shared, '-m', model_path, '--music-out', shared + '_music'],
        tmp_path)
    assert status == 0, stdout + stderr
    assert stdout.count('separated 5 of 5 files') == 1
    assert stdout.count('# input:') == 1
    for one, many in ((single, shared), (single + '_music', shared + '_music')):
        names = sorted(os.listdir(many))
        assert names == sorted(os.listdir(one)) == ['mix{}.wav'.format(k) for k in range(5)]
        for name in names:
            expected, _ = sf.read(os.path.join(one, name))
            got, _ = sf.read(os.path.join(many, name))
            assert got.shape == expected.shape
            np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=name)


@needs_mpiexec
def test_skip_existing_on_two_ranks_separates_each_missing_file_once(tmp_path, model_path):
    """The plan is shared out before the existing outputs are left out, so
    a file one rank finishes early is never dropped by another."""
    source = mixtures(str(tmp_path / 'mix'))
    out = tmp_path / 'out'
    for name in ('mix1.wav', 'mix2.wav'):
        write(str(out / name), tone(0.25))
    status, stdout, stderr = launch(
        mpiexec(2) + script('make_separate.py') + [
            '-i', source, '-o', str(out), '-m', model_path, '--skip-existing'],
        tmp_path)
    assert status == 0, stdout + stderr
    assert stdout.count('separated 3 of 3 files') == 1
    assert 'skipped 2 whose outputs exist' in stdout
    assert sorted(os.listdir(str(out))) == ['mix{}.wav'.format(k) for k in range(5)]
    assert [sf.info(str(out / 'mix{}.wav'.format(k))).frames for k in range(5)] == \
        [16000, 4000, 4000, 20800, 22400]


@needs_mpiexec
def test_a_failed_file_fails_every_rank_and_is_summed_up_once(tmp_path, model_path):
    source = mixtures(str(tmp_path / 'mix'), count=3)
    (tmp_path / 'mix' / 'mix0b.wav').write_text('not audio')   # second in the plan: rank 1
    statuses = tmp_path / 'status'
    statuses.mkdir()
    # Each rank records its own exit status (mpiexec reports only one).
    record = ('"$@"; status=$?; echo $status > "{}/rank${{PMI_RANK:-$OMPI_COMM_WORLD_RANK}}"; '
              'exit $status'.format(statuses))
    status, stdout, stderr = launch(
        mpiexec(2) + ['sh', '-c', record, 'sh'] + script('make_separate.py') + [
            '-i', source, '-o', str(tmp_path / 'out'), '-m', model_path,
            '--report', str(tmp_path / 'report.csv'), '--keep-clean', '60', '--gate-music',
            '60', '--passage-report', str(tmp_path / 'passages.csv')],
        tmp_path)          # (the gates' counts gathered too; nothing that clean or alone here)
    assert status != 0
    with open(str(tmp_path / 'report.csv'), newline='') as handle:
        rows = list(csv.DictReader(handle))     # both ranks' files, in order, written once
    assert [(os.path.basename(r['input']), r['status']) for r in rows] == [
        ('mix0.wav', 'separated'), ('mix0b.wav', 'failed'), ('mix1.wav', 'separated'),
        ('mix2.wav', 'separated')]
    with open(str(tmp_path / 'passages.csv'), newline='') as handle:
        passages = list(csv.DictReader(handle))     # the separated files' passages, in order
    assert [(os.path.basename(r['input']), r['start_s']) for r in passages] == [
        ('mix0.wav', '0.00'), ('mix1.wav', '0.00'), ('mix2.wav', '0.00')]
    assert not glob.glob(str(tmp_path / '.passages.csv*'))     # both ranks' spools merged, gone
    assert sorted(os.listdir(str(statuses))) == ['rank0', 'rank1']
    assert all((statuses / name).read_text().strip() == '1' for name in ('rank0', 'rank1'))
    assert stdout.count('separated 3 of 4 files') == 1
    assert stderr.count('1 failed:') == 1 and 'mix0b.wav' in stderr
    assert sorted(os.listdir(str(tmp_path / 'out'))) == ['mix0.wav', 'mix1.wav', 'mix2.wav']


@needs_mpiexec
def test_an_option_mistake_on_a_folder_is_printed_once(tmp_path, model_path):
    source = mixtures(str(tmp_path / 'mix'), count=3)
    status, _, stderr = launch(mpiexec(2) + script('make_separate.py') + [
        '-i', source, '-o', str(tmp_path / 'out'), '-m', model_path, '--batch', '0'], tmp_path)
    assert status != 0
    assert stderr.count('error: --batch 0') == 1, stderr
    assert 'processes stopped' not in stderr and 'Traceback' not in stderr
    assert not os.path.exists(str(tmp_path / 'out'))


@needs_mpiexec
def test_ctrl_c_on_two_ranks_leaves_a_report_of_the_files_done(tmp_path, model_path):
    """Ctrl-C to mpiexec once both ranks have written a file: every rank
    stops, and rank 0 still writes the --report of the files done so far."""
    source = tmp_path / 'mix'
    for k in range(8):
        write(str(source / 'long{}.wav'.format(k)),
              tone(20.0, freq=200 + 50 * k) + noise_bursts(20.0, seed=k))
    out, report = tmp_path / 'out', tmp_path / 'report.csv'
    process = start(mpiexec(2) + script('make_separate.py') + [
        '-i', str(source), '-o', str(out), '-m', model_path, '--report', str(report),
        '--shifts', '1', '--speeds', '1'], tmp_path)
    try:
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and process.poll() is None and \
                len(glob.glob(str(out / 'long*.wav'))) < 2:
            time.sleep(0.2)
        assert process.poll() is None, 'the run ended before it could be stopped'
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode != 0
    assert stderr.count('interrupted') == 2, stderr
    with open(str(report), newline='') as handle:
        rows = list(csv.DictReader(handle))
    written = sorted(os.path.basename(p) for p in glob.glob(str(out / 'long*.wav')))
    reported = [os.path.basename(r['output']) for r in rows]
    # every row's file was written; a file renamed into place in the instant
    # before Ctrl-C may miss its row (one per rank at most)
    assert set(reported) <= set(written) and len(written) - 2 <= len(reported) < 8
    assert len(written) >= 2 and all(r['status'] == 'separated' for r in rows)
