"""What the command-line scripts share: errors, exit codes, devices, outputs.

A user mistake ends in one line on stderr (``prog: error: ...``) and exit
status 1; Ctrl-C (or SIGTERM) in status 130 (143); ``--debug`` or
``SPEECHSEP_DEBUG=1`` shows the traceback instead.
"""
import contextlib
import csv
import gc
import math
import os
import select
import signal
import sys

import compat  # noqa: F401  (before chainer: NumPy 2 / Python 3.12 shims)
import chainer
from chainer.backends import cuda

import interrupts
import network
import util


class UserError(Exception):
    """A mistake the user can fix; the message says what and where."""


# Errors that are the user's input, not a bug: reported in one line.
USER_ERRORS = (UserError, util.AudioError, network.ModelError)

EXIT_ERROR = 1
EXIT_INTERRUPTED = interrupts.EXIT_INTERRUPTED
EXIT_TERMINATED = interrupts.EXIT_TERMINATED


class Reported(Exception):
    """A user error that another process of the same MPI run, rank 0, finds
    alike and reports: this one ends with status 1 without a second line."""


@contextlib.contextmanager
def reported_by_rank_zero(rank):
    """Within, a user error is one that every process of an MPI run meets
    alike (the options, the shared inputs): only rank 0 prints it."""
    try:
        yield
    except USER_ERRORS:
        if rank > 0:
            raise Reported() from None
        raise


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives, so clean-up runs."""


def _on_sigterm(signum, frame):
    # Once: a second SIGTERM must not cut the clean-up short (a rank gets two
    # when it and mpiexec are both signalled, `pkill -f train.py` say, since
    # mpiexec passes its own on).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


def main(prog, parser, job, argv=None, audio=True):
    """Parse ``argv`` (the command line when None) with ``parser`` and ``run``
    ``job(args)``, showing tracebacks with the parser's ``--debug``."""
    args = parser.parse_args(argv)
    return run(prog, lambda: job(args), debug=getattr(args, 'debug', False), audio=audio)


def run(prog, job, debug=False, audio=True):
    """Call ``job()`` and turn its outcome into an exit status.

    Returns ``job``'s own status (0 when it returns None), 1 after a user
    error, 130 after Ctrl-C, 143 after SIGTERM. ``audio``: the job computes
    STFTs, whose deferred modules a program then loads first
    (``util.load_deferred``); False for one that only reads tables or models.
    """
    debug = debug or os.environ.get('SPEECHSEP_DEBUG', '') not in ('', '0')
    if audio and interrupts.loading():    # run as a program: the rest loads under it too
        util.load_deferred()
    interrupts.restore()
    usable_streams()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        status = job()
        return 0 if status is None else status
    except USER_ERRORS as err:
        if debug:
            raise
        return _report(err, '{}: error: {}'.format(prog, err), EXIT_ERROR)
    except Reported:
        return EXIT_ERROR
    except BrokenPipeError as err:     # `... | head -1`: stdout's reader has gone
        if not _stdout_broken():
            raise
        util.silence_stream(sys.stdout)
        return _report(err, '{}: error: stdout: the program reading it closed the pipe '
                            'before all was printed'.format(prog), EXIT_ERROR)
    except KeyboardInterrupt as err:
        if debug:
            raise
        return _report(err, *stop_outcome(prog, err))
    except Terminated as err:
        return _report(err, *stop_outcome(prog, err))
    finally:
        signal.signal(signal.SIGTERM, previous)


def usable_streams():
    """Let stdout print file names that are not valid UTF-8 (surrogate
    escapes) as ``\\udce9`` instead of failing the run, where its encoding
    is strict (a UTF-8 locale; Python's C locale already passes them); and
    give a stream that was closed when the program started (``2>&-``) the
    null device, so that what would be printed there goes nowhere."""
    for name in ('stdout', 'stderr'):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, 'w'))
        stream = getattr(sys, name)
        if getattr(stream, 'errors', None) == 'strict' and hasattr(stream, 'reconfigure'):
            stream.reconfigure(errors='backslashreplace')


def _stdout_broken():
    """Whether stdout is a pipe whose reader has gone (``poll`` reports an
    error on its write end), so that the broken pipe was stdout's."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def stop_outcome(prog, err):
    """The line and exit status for a run stopped by ``err``: Ctrl-C
    (``KeyboardInterrupt``, 130) or SIGTERM (``Terminated``, 143)."""
    if isinstance(err, Terminated):
        return '{}: terminated'.format(prog), EXIT_TERMINATED
    return '{}: interrupted'.format(prog), EXIT_INTERRUPTED


def _report(err, line, status):
    """Free what the job held (``_drop_interrupted``), print ``line`` on
    stderr and return ``status``, deaf to Ctrl-C meanwhile: freeing can take
    a moment (a pool of worker processes shutting down), and a second
    Ctrl-C there ended in a traceback instead of the line."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _drop_interrupted(err)
        print(line, file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, previous)
    return status


def _drop_interrupted(err):
    """Free what the interrupted or failed code held, now and without a word.

    An object stopped half-way (``np.savez``'s zip in a snapshot being
    written when the disk filled, say) would otherwise print "Exception
    ignored in ..." after the one-line message when it is collected; its file
    is a temporary one that the clean-up has already removed. The tracebacks
    of the whole chain (``__context__``, ``__cause__``) are dropped: a
    ``raise ... from None`` keeps the original error as context.
    """
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        chain, seen = [err], set()
        while chain:
            link = chain.pop()
            if link is None or id(link) in seen:
                continue
            seen.add(id(link))
            link.__traceback__ = None
            chain += [link.__cause__, link.__context__]
        gc.collect()
    finally:
        sys.unraisablehook = hook


def csv_rows(path, columns, what):
    """The rows (dicts) of the CSV file ``path``; a ``UserError`` naming it
    when it cannot be read or lacks one of ``columns`` (the message says it
    is not ``what``: 'an evaluate.py --csv file', say)."""
    try:
        with util.open_csv(path) as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in columns if c not in (reader.fieldnames or ())]
            if missing:
                raise UserError('{} is not {} (no {} column)'.format(path, what, missing[0]))
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UserError('{}: {}'.format(path, getattr(err, 'strerror', None) or err)) from None


def check_cupy(gpu):
    """One line (``UserError``) where ``-g gpu`` asks for a GPU and CuPy
    cannot be loaded: the same on every process of a run, so it can be said
    once before they part."""
    if gpu >= 0 and not cuda.available:
        raise UserError('-g {}: CuPy is not installed (or cannot load CUDA); '
                        'install the cupy wheel for your CUDA version or run '
                        'on the CPU with -g -1'.format(gpu))


def get_device(gpu):
    """Chainer's device for ``-g gpu``: the CPU for ``gpu < 0``, else GPU
    ``gpu``, made current; ``device.xp`` is NumPy or CuPy.

    Raises ``UserError`` in one line when CuPy or the device is missing.
    """
    if gpu >= 0:
        check_cupy(gpu)
        try:
            count = cuda.cupy.cuda.runtime.getDeviceCount()
        except Exception as err:   # CUDA driver errors have no common base class
            raise UserError('-g {}: no usable CUDA device ({})'.format(gpu, err)) from None
        if gpu >= count:
            raise UserError('-g {}: no such GPU (this machine has {})'.format(gpu, count))
    device = chainer.get_device(gpu)
    device.use()
    return device


def plural(count):
    """``'s'`` unless ``count`` is 1: ``'{} file{}'.format(n, plural(n))``."""
    return '' if count == 1 else 's'


def print_settings(settings):
    """Print resolved settings first, as Chainer's examples do."""
    for name, value in settings:
        print('# {}: {}'.format(name, value))
    sys.stdout.flush()


def check_apart(speech, music, speech_folder, music_folder, prefix=''):
    """One line (``UserError``, starting with ``prefix``) where a file of
    ``speech`` is also one of ``music`` (real paths compared): the folders
    hold each other (``-m music_speech`` holds ``speech_wav``; ``-m X -s X``)
    and speech would be mixed with speech, or a file with itself."""
    real_music = {os.path.realpath(path) for path in music}
    both = [path for path in speech if os.path.realpath(path) in real_music]
    if both:
        raise UserError('{}{} file{} in both the speech folder {} and the music folder {} '
                        '(first {}); give folders that do not hold each other'.format(
                            prefix, len(both), ' is' if len(both) == 1 else 's are',
                            speech_folder, music_folder, both[0]))


def check_range(option, value, low, high):
    """A ``UserError`` naming ``option`` unless ``low <= value <= high``."""
    if not low <= value <= high:
        raise UserError('{} {}: must be from {} to {}'.format(option, value, low, high))


def check_interval(option, values, low, high):
    """A ``UserError`` naming ``option`` unless ``values`` is a range
    ``LOW HIGH`` with ``low <= LOW <= HIGH <= high`` (NaN never is)."""
    first, last = values
    if not low <= first <= last <= high:
        raise UserError('{} {} {}: need {} <= LOW <= HIGH <= {}'.format(
            option, first, last, low, high))


def number(label, text, what, low, high=math.inf, whole=False):
    """``text`` as a finite number (an ``int`` when ``whole``) from ``low``
    to ``high``, or a ``UserError`` naming ``label`` (the variable and the
    text as given): ``'ALPHA=x: the share ... must be a number from 0 to 1'``."""
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = math.nan
    # an int is finite at any size (math.isfinite overflows past a float's range)
    finite = isinstance(value, int) or math.isfinite(value)
    if not (finite and low <= value <= high):
        bounds = ', {} or more'.format(low) if high == math.inf else ' from {} to {}'.format(
            low, high)
        raise UserError('{}: {} must be {} number{}'.format(
            label, what, 'a whole' if whole else 'a', bounds))
    return value


def prepare_output(path, overwrite, option='', inputs=()):
    """Refuse an existing ``path`` without --overwrite, or one of the files
    ``inputs`` even with it (``UserError``; the message starts with
    ``option`` and ``path``), make its folder and check that it is writable
    (``util.OutputError`` naming the folder)."""
    if os.path.exists(path) and not overwrite:
        raise UserError('{}{}: exists; use --overwrite to replace it'.format(option, path))
    if is_one_of(path, inputs):
        raise UserError('{}{}: the output is one of the inputs'.format(option, path))
    folder = os.path.dirname(path)
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            raise util.OutputError('{}: cannot create the output folder ({})'.format(
                folder, err.strerror)) from None
    problem = util.creation_problem(folder)
    if problem:
        raise util.OutputError('{}: {}'.format(folder or '.', problem))


def is_one_of(path, others):
    """Whether ``path`` is one of the files ``others``: the same path once
    links are resolved, or the same file on disk (a hard link)."""
    if os.path.realpath(path) in {os.path.realpath(p) for p in others}:
        return True
    if not os.path.isfile(path):
        return False
    return any(os.path.isfile(p) and os.path.samefile(path, p) for p in others)


def remove_stale_temporaries(outputs):
    """Remove the temporary files that killed runs left in the folders of
    the files ``outputs`` (``util.remove_stale_temporaries``), with a note."""
    folders = {os.path.dirname(path) for path in outputs}
    removed = [path for folder in sorted(folders)
               for path in util.remove_stale_temporaries(folder)]
    if removed:
        print('note: removed {} temporary file{} left by interrupted runs ({})'.format(
            len(removed), plural(len(removed)), ', '.join(removed)), file=sys.stderr)


def print_failures(failures):
    """``N failed:`` and each failure on stderr; the exit status (1 if any failed)."""
    if not failures:
        return 0
    print('{} failed:'.format(len(failures)), file=sys.stderr)
    for failure in failures:
        print('  ' + failure, file=sys.stderr)
    return EXIT_ERROR
