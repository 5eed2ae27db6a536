"""Training throughput on the CPU: patches per second of the U-Net's update.

Each measurement builds ``network.UNetTrainmodel(network.UNet())`` with Adam
(as train.py does), makes one random mini-batch of ``(B, 1, 512, 128)``
float32 mixture and speech magnitudes in memory, runs ``--warmup`` untimed
updates and then times ``--iterations`` calls of ``optimizer.update`` (the
forward pass, the L1 loss, the backward pass and the Adam step: the
computation of one train.py iteration, without its data loading, reporting
and snapshots).

With ``--ranks 1 2`` the rows for R > 1 ranks are measured by
``mpiexec -n R python benchmarks/train_speed.py --worker ...``: every rank
runs the same update under ChainerMN (``create_communicator('naive')``,
``create_multi_node_optimizer``, so the gradients are all-reduced over MPI)
and rank 0 reports the global throughput ``R * B * iterations / wall``.
ChainerMN is used directly, not through train.py. Each rank's BLAS gets
``--threads`` threads (by default the cores divided by the ranks, so the
ranks do not oversubscribe the machine).

mpiexec comes from the ``mpich`` wheel (``pip install -r
requirements-mpi.txt``); without it the R > 1 rows are skipped with a note.

``--saving`` adds what train.py's writes cost each epoch: a model file
(``model_N``, ``model_best``) and a snapshot's bulk (the model and Adam's
two moments) written with ``chainer.serializers.save_npz`` compressed
(Chainer's default) and stored (what train.py writes), into a temporary
folder that is removed afterwards.

Usage: python benchmarks/train_speed.py                     (batch 16 and 64, 1 rank)
       python benchmarks/train_speed.py --ranks 1 2
       python benchmarks/train_speed.py --saving -b 16         (and the cost of saving)
       python benchmarks/train_speed.py -b 4 -i 2 -n 1 2    (a smoke run)
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import common

import compat  # noqa: E402,F401
import chainer  # noqa: E402
import cli  # noqa: E402
import const  # noqa: E402
import network  # noqa: E402
import train  # noqa: E402  (its communicators)

PROG = 'train_speed.py'
DEFAULT_BATCHES = [16, 64]
RESULT_TAG = 'TRAIN_SPEED_RESULT '      # how a worker's rank 0 hands back a measurement


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='Training throughput of the U-Net in patches per second')
    parser.add_argument('--batches', '-b', type=int, nargs='+', default=DEFAULT_BATCHES,
                        metavar='B', help='patches per mini-batch and rank (default: {})'.format(
                            ' '.join(map(str, DEFAULT_BATCHES))))
    parser.add_argument('--iterations', '-i', type=int, default=5,
                        help='timed updates per measurement (default: %(default)s)')
    parser.add_argument('--warmup', '-w', type=int, default=1,
                        help='untimed updates first (default: %(default)s)')
    parser.add_argument('--ranks', '-n', type=int, nargs='+', default=[1], metavar='R',
                        help='MPI ranks; R > 1 runs under mpiexec with ChainerMN '
                             '(default: 1)')
    parser.add_argument('--patchlength', '-l', type=int, default=const.PATCH_LENGTH,
                        help='frames per patch, a multiple of {} (default: %(default)s)'.format(
                            const.PATCH_MULTIPLE))
    parser.add_argument('--communicator', default='naive', choices=train.COMMUNICATORS,
                        metavar='NAME',
                        help='ChainerMN communicator for R > 1: {}; the others need GPUs, '
                             'which this benchmark does not use (default: %(default)s)'.format(
                                 ', '.join(train.COMMUNICATORS)))
    parser.add_argument('--threads', '-t', type=int, default=None,
                        help='BLAS threads per rank for R > 1 (default: cores / R, at '
                             'least 1; 0 leaves the environment as it is)')
    parser.add_argument('--mpiexec', default=None,
                        help='mpiexec to use (default: the one beside this Python, '
                             'else the first on PATH)')
    parser.add_argument('--saving', action='store_true',
                        help='also time writing a model and a snapshot, compressed and stored')
    parser.add_argument('--markdown', action='store_true',
                        help='print the machine and table as markdown (docs/BENCHMARKS.md)')
    parser.add_argument('--seed', '-s', type=int, default=0,
                        help='seed of the weights and the random batch (default: %(default)s)')
    parser.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(),
                    lambda args: (worker if args.worker else benchmark)(args), argv)


def check_args(args):
    """The first problem with the arguments, as a message, or None."""
    if any(b <= 0 for b in args.batches):
        return '--batches: every batch size must be at least 1'
    if args.iterations <= 0 or args.warmup < 0:
        return '--iterations must be at least 1 and --warmup at least 0'
    if any(r <= 0 for r in args.ranks):
        return '--ranks: every rank count must be at least 1'
    if args.patchlength <= 0 or args.patchlength % const.PATCH_MULTIPLE:
        return '-l {}: the patch length must be a positive multiple of {}'.format(
            args.patchlength, const.PATCH_MULTIPLE)
    if args.threads is not None and args.threads < 0:
        return '--threads must be 0 (inherit) or more'
    if args.communicator != 'naive':
        return ('--communicator {}: needs GPUs, and this benchmark runs on the CPU; use '
                '--communicator naive'.format(args.communicator))
    if args.mpiexec is not None and find_mpiexec(args.mpiexec) is None:
        return '--mpiexec {}: not found or not executable'.format(args.mpiexec)
    return None


# --------------------------------------------------------------------------
# One measurement

def random_batch(batch, length, seed):
    """``(mix, speech)`` of shape ``(batch, 1, 512, length)``, float32, speech
    below the mixture as in the npz data."""
    rng = np.random.default_rng(seed)
    shape = (batch, 1, const.NET_BINS, length)
    mix = rng.random(shape, dtype=np.float32)
    speech = mix * rng.random(shape, dtype=np.float32)
    return mix, speech


def build_model(seed):
    np.random.seed(seed)
    return network.UNetTrainmodel(network.UNet())


def time_updates(optimizer, model, mix, speech, iterations, warmup, barrier=lambda: None):
    """Seconds of ``iterations`` updates after ``warmup`` untimed ones.
    ``barrier`` lines the ranks up before and after the timed loop."""
    for _ in range(warmup):
        optimizer.update(model, mix, speech)
    barrier()
    started = time.perf_counter()
    for _ in range(iterations):
        optimizer.update(model, mix, speech)
    barrier()
    return time.perf_counter() - started


def measure_single(batch, args):
    """One process, no ChainerMN: train.py's plain update."""
    model = build_model(args.seed)
    optimizer = chainer.optimizers.Adam(alpha=const.LEARNING_RATE)
    optimizer.setup(model)
    mix, speech = random_batch(batch, args.patchlength, args.seed)
    wall = time_updates(optimizer, model, mix, speech, args.iterations, args.warmup)
    return dict(ranks=1, batch=batch, iterations=args.iterations, wall=wall,
                threads=current_threads())


def current_threads():
    for variable in common.THREAD_VARIABLES:
        if variable in os.environ:
            return os.environ[variable]
    return 'all ({})'.format(common.usable_cores())


def worker(args):
    """Runs on every rank under mpiexec; rank 0 prints one result line per batch."""
    import chainermn
    comm = chainermn.create_communicator(args.communicator)
    for batch in args.batches:
        model = build_model(args.seed)
        optimizer = chainermn.create_multi_node_optimizer(
            chainer.optimizers.Adam(alpha=const.LEARNING_RATE), comm)
        optimizer.setup(model)
        comm.bcast_data(model)             # every rank starts from rank 0's weights
        mix, speech = random_batch(batch, args.patchlength, args.seed + comm.rank)
        wall = time_updates(optimizer, model, mix, speech, args.iterations, args.warmup,
                            barrier=comm.mpi_comm.Barrier)
        wall = comm.mpi_comm.allreduce(wall, op=_mpi_max())
        if comm.rank == 0:
            print(RESULT_TAG + json.dumps(dict(
                ranks=comm.size, batch=batch, iterations=args.iterations, wall=wall,
                threads=current_threads())))
            sys.stdout.flush()
    return 0


def _mpi_max():
    from mpi4py import MPI
    return MPI.MAX


# --------------------------------------------------------------------------
# Several ranks

def find_mpiexec(option):
    if option:
        return option if shutil.which(option) else None
    beside = os.path.join(os.path.dirname(sys.executable), 'mpiexec')
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which('mpiexec')


def mpi_missing(args):
    """Why the R > 1 rows cannot run here, or None."""
    if find_mpiexec(args.mpiexec) is None:
        return ('mpiexec not found ({}); install the MPI extras with '
                '"{} -m pip install -r requirements-mpi.txt"'.format(
                    args.mpiexec or 'looked beside {} and on PATH'.format(sys.executable),
                    sys.executable))
    try:
        import mpi4py  # noqa: F401
        import chainermn  # noqa: F401
    except ImportError as err:
        return 'ChainerMN cannot be imported ({}); install requirements-mpi.txt'.format(err)
    return None


def threads_for(ranks, option):
    if option is None:
        return max(1, common.usable_cores() // ranks)
    return option


def measure_ranks(ranks, args):
    """Launch the workers for ``ranks`` ranks; a list of result dicts."""
    command = [find_mpiexec(args.mpiexec), '-n', str(ranks), sys.executable,
               os.path.abspath(__file__), '--worker',
               '--batches'] + [str(b) for b in args.batches] + [
               '--iterations', str(args.iterations), '--warmup', str(args.warmup),
               '--patchlength', str(args.patchlength), '--communicator', args.communicator,
               '--seed', str(args.seed)]
    env = dict(os.environ)
    threads = threads_for(ranks, args.threads)
    if threads:
        for variable in common.THREAD_VARIABLES:
            env[variable] = str(threads)
    print('# running: {}{}'.format(
        'OMP_NUM_THREADS={} OPENBLAS_NUM_THREADS={} '.format(threads, threads) if threads else '',
        shlex.join(command)))
    sys.stdout.flush()
    done = subprocess.run(command, env=env, cwd=common.ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    results = [json.loads(line[len(RESULT_TAG):]) for line in done.stdout.splitlines()
               if line.startswith(RESULT_TAG)]
    if done.returncode != 0 or len(results) != len(args.batches):
        print('# FAILED (status {}) with {} ranks:\n{}{}'.format(
            done.returncode, ranks, done.stdout[-2000:], done.stderr[-3000:]), file=sys.stderr)
    return results


# --------------------------------------------------------------------------
# The table

def benchmark(args):
    problem = check_args(args)
    if problem:
        raise cli.UserError(problem)
    settings = [('batches per rank', ' '.join(map(str, args.batches))),
                ('ranks', ' '.join(map(str, args.ranks))),
                ('iterations', '{} timed after {} warm-up'.format(args.iterations, args.warmup)),
                ('patch', '(B, 1, {}, {}) float32, random, in memory'.format(
                    const.NET_BINS, args.patchlength)),
                ('optimizer', 'Adam (alpha {})'.format(const.LEARNING_RATE))]
    if any(r > 1 for r in args.ranks):
        settings.append(('communicator', '{} (ChainerMN over MPI)'.format(args.communicator)))
    common.print_machine(settings)

    results, status = [], 0
    missing = mpi_missing(args) if any(r > 1 for r in args.ranks) else None
    for ranks in args.ranks:
        if ranks == 1:
            for batch in args.batches:
                results.append(measure_single(batch, args))
                print('# done: {}'.format(describe(results[-1])))
                sys.stdout.flush()
        elif missing:
            print('note: skipped {} ranks: {}'.format(ranks, missing))
        else:
            found = measure_ranks(ranks, args)
            if len(found) != len(args.batches):
                status = 1
            for result in found:
                print('# done: {}'.format(describe(result)))
            results.extend(found)

    header = ['ranks', 'batch per rank', 'BLAS threads per rank', 'patches/s', 's/iteration']
    rows = [[str(r['ranks']), str(r['batch']), str(r['threads']),
             '{:.1f}'.format(patches_per_second(r)),
             '{:.3f}'.format(r['wall'] / r['iterations'])] for r in results]
    print()
    common.print_table(header, rows, args.markdown)
    print('\npatches/s = ranks * batch * iterations / wall seconds of the timed updates '
          '(forward, L1 loss, backward, {}Adam step).'.format(
              'all-reduce of the gradients, ' if any(r['ranks'] > 1 for r in results) else ''))
    if args.saving:
        print()
        print_saving(measure_saving(args.seed), args.markdown)
    return status


# --------------------------------------------------------------------------
# Saving

class _SnapshotBulk:
    """What dominates a trainer snapshot: the model and its Adam state
    (two moments per weight), under the names a snapshot gives them."""

    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer

    def serialize(self, serializer):
        self.model.serialize(serializer['updater']['model:main'])
        self.optimizer.serialize(serializer['updater']['optimizer:main'])


def measure_saving(seed):
    """``[(file, compressed s, compressed bytes, stored s, stored bytes)]``
    for a model and a snapshot's bulk after one Adam step."""
    model = build_model(seed)
    optimizer = chainer.optimizers.Adam(alpha=const.LEARNING_RATE)
    optimizer.setup(model)
    mix, speech = random_batch(1, const.PATCH_MULTIPLE, seed)
    optimizer.update(model, mix, speech)        # Adam's moments exist from the first step
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, target in (('model', model.unet), ('snapshot (model + Adam)',
                                                     _SnapshotBulk(model, optimizer))):
            row = [name]
            for compression in (True, False):
                path = os.path.join(folder, 'saved')
                started = time.perf_counter()
                chainer.serializers.save_npz(path, target, compression=compression)
                row += [time.perf_counter() - started, os.path.getsize(path)]
            rows.append(row)
            print('# done: saving {}'.format(name))
    return rows


def print_saving(rows, markdown):
    header = ['file', 'compressed s', 'compressed MB', 'stored s', 'stored MB']
    common.print_table(header, [[name, '{:.2f}'.format(zs), '{:.1f}'.format(zb / 1e6),
                                 '{:.2f}'.format(ss), '{:.1f}'.format(sb / 1e6)]
                                for name, zs, zb, ss, sb in rows], markdown, machine=False)
    print('\nchainer.serializers.save_npz of each, compression on (Chainer\'s default) and '
          'off (train.py); an epoch writes model_N, a snapshot and, when validation '
          'improves, model_best.')


def patches_per_second(result):
    return result['ranks'] * result['batch'] * result['iterations'] / result['wall']


def describe(result):
    return 'ranks {} batch {} patches/s {:.1f} s/iteration {:.3f}'.format(
        result['ranks'], result['batch'], patches_per_second(result),
        result['wall'] / result['iterations'])


if __name__ == '__main__':
    sys.exit(main())
