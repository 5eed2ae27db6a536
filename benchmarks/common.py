"""What the benchmark scripts share: the machine's description and tables.

Nothing here measures anything; ``separate_speed.py`` and ``train_speed.py``
import it, which puts the repository root on ``sys.path`` for them.
"""
import contextlib
import os
import platform
import signal
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
_PROGRAM = getattr(sys.modules.get('__main__'), '__file__', None)
if _PROGRAM and os.path.dirname(os.path.abspath(_PROGRAM)) == os.path.dirname(
        os.path.abspath(__file__)):     # a benchmark script is the program
    interrupts.quiet_while_loading()
import cli  # noqa: E402

# Environment variables that set how many threads the BLAS behind NumPy (and so
# Chainer's CPU convolutions) uses.
THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')


def cpu_model():
    """The CPU's ``model name`` from /proc/cpuinfo, or platform's guess."""
    try:
        with open('/proc/cpuinfo') as handle:
            for line in handle:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags(wanted=('avx', 'avx2', 'fma', 'avx512f')):
    """Which of the SIMD extensions in ``wanted`` the CPU reports."""
    try:
        with open('/proc/cpuinfo') as handle:
            for line in handle:
                if line.startswith('flags'):
                    have = set(line.split(':', 1)[1].split())
                    return [flag for flag in wanted if flag in have]
    except OSError:
        pass
    return []


def usable_cores():
    """Cores this process may run on (its affinity), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def blas_description():
    """NumPy's BLAS: name, version and build options as numpy reports them."""
    import numpy
    try:
        config = numpy.show_config(mode='dicts')    # NumPy >= 1.25
        blas = config['Build Dependencies']['blas']
        text = '{} {}'.format(blas.get('name', '?'), blas.get('version', '')).strip()
        options = blas.get('openblas configuration', '')
        return text + (' ({})'.format(options) if options else '')
    except (TypeError, KeyError, ValueError):
        pass
    for name in ('blas_opt_info', 'openblas_info', 'blas_mkl_info'):
        info = getattr(numpy.__config__, name, None)
        if info:
            return '{}: {}'.format(name, ', '.join(info.get('libraries', [])))
    return 'unknown'


def blas_threads():
    """Threads the BLAS uses: threadpoolctl's answer if it is installed, else
    the environment variables that set it ('unset' lets the BLAS use every core)."""
    try:
        import threadpoolctl
        pools = threadpoolctl.threadpool_info()
        if pools:
            return ', '.join('{} {}'.format(p['internal_api'], p['num_threads']) for p in pools)
    except ImportError:
        pass
    found = ['{}={}'.format(v, os.environ[v]) for v in THREAD_VARIABLES if v in os.environ]
    return ', '.join(found) if found else 'unset (the BLAS default: one per core)'


def machine_lines():
    """``[(name, value)]`` describing this machine and software stack."""
    import numpy
    import chainer
    try:
        import psutil
        memory = '{:.1f} GB'.format(psutil.virtual_memory().total / 1e9)
    except ImportError:
        memory = 'unknown'
    flags = cpu_flags()
    return [
        ('CPU', '{}{}'.format(cpu_model(), ' ({})'.format(', '.join(flags)) if flags else '')),
        ('cores', '{} usable of {}'.format(usable_cores(), os.cpu_count())),
        ('memory', memory),
        ('OS', '{} {}'.format(platform.system(), platform.release())),
        ('Python', platform.python_version()),
        ('NumPy', numpy.__version__),
        ('BLAS', blas_description()),
        ('BLAS threads', blas_threads()),
        ('Chainer', chainer.__version__),
        ('load average', ' '.join('{:.2f}'.format(x) for x in os.getloadavg())
         if hasattr(os, 'getloadavg') else 'unknown'),
    ]


def print_machine(settings=(), markdown=False):
    """The benchmark's ``settings`` (``[(name, value)]``) and ``machine_lines()``
    as ``cli.print_settings`` prints them, then ``warn_if_busy()``; or a markdown list."""
    if not markdown:
        cli.print_settings(list(settings) + machine_lines())
        return warn_if_busy()
    for name, value in list(settings) + machine_lines():
        print('- {}: {}'.format(name, value))
    sys.stdout.flush()


def print_table(header, rows, markdown=False, machine=True):
    """``header`` and ``rows`` (lists of strings) as aligned text, or as
    markdown after ``print_machine``'s list (unless ``machine`` is False:
    a second table of the same run)."""
    if markdown:
        if machine:
            print_machine(markdown=True)
        lines = ['', '| ' + ' | '.join(header) + ' |',
                 '|' + '|'.join(':---' if i == 0 else '---:' for i in range(len(header))) + '|']
        lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    else:
        widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
        lines = ['  '.join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                           for i, (c, w) in enumerate(zip(line, widths)))
                 for line in [header] + rows]
        lines.insert(1, '  '.join('-' * w for w in widths))
    print('\n'.join(lines))


def warn_if_busy():
    """Warn on stderr when other processes already keep the cores busy: the
    figures would then measure the competition as much as this suite."""
    if not hasattr(os, 'getloadavg'):
        return
    load = os.getloadavg()[0]
    if load > 0.5 * usable_cores():
        print('warning: the load average is {:.1f} on {} cores: other processes are '
              'running, so these figures are slower than on an idle machine'.format(
                  load, usable_cores()), file=sys.stderr)


def describe_seconds(seconds):
    """``600`` -> ``'10 min'``, ``10`` -> ``'10 s'``, ``5400`` -> ``'90 min'``."""
    if seconds >= 60 and seconds % 60 == 0:
        return '{:g} min'.format(seconds / 60)
    return '{:g} s'.format(seconds)


@contextlib.contextmanager
def child_process(command, **kwargs):
    """``subprocess.Popen(command, **kwargs)`` for the block; when the block
    is left before the child ended (an error, Ctrl-C, SIGTERM), the child is
    terminated and waited for, so that nothing keeps running (or writing in
    a work folder about to be removed) after the benchmark ends."""
    process = subprocess.Popen(command, **kwargs)
    try:
        yield process
    finally:
        stop_process(process)


def stop_process(process, grace=10.0):
    """Terminate ``process`` unless it has ended (or been reaped, its
    ``returncode`` set), and wait for it: ``grace`` seconds, then SIGKILL.
    Deaf to Ctrl-C meanwhile (in the main thread), so a second Ctrl-C
    cannot leave the child running."""
    if process.returncode is not None:
        return
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        if process.poll() is None:
            try:
                process.terminate()
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            except ProcessLookupError:
                pass
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
