"""``-i -`` and ``-o -``: make_separate.py in a pipe.

A mixture on stdin (any format libsndfile or ffmpeg reads) is first copied
whole into a hidden temporary file, because a separation reads its input
more than once (the peak pass, the views); the speech for stdout is written
whole to a temporary wav and copied out only once it is complete, so a run
that fails writes nothing to the pipe. Both temporary files are removed
when the file is done. They lie beside the other output, or in the system's
temporary folder (``$TMPDIR``) when there is none; what a killed run left
there is removed by the next run in a pipe (``remove_leftovers``).
"""
import contextlib
import os
import re
import shutil
import sys
import tempfile

import util

STREAM = '-'            # the name of stdin for -i and of stdout for -o
COPY_BYTES = 1 << 20    # bytes copied at a time
STDOUT_NAME = 'make_separate-{}-stdout{}'      # stdout_file's: the PID, the extension
_STDOUT_FILE = re.compile(r'^make_separate-(\d+)-stdout\.[A-Za-z0-9]+$')


def work_folder(out_path):
    """Where the temporary files of a run writing ``out_path`` go."""
    if out_path == STREAM:
        return tempfile.gettempdir()
    return os.path.dirname(out_path) or '.'


@contextlib.contextmanager
def spooled_stdin(out_path, source=None):
    """Yield the path of a temporary file holding all of ``source`` (stdin's
    bytes by default), removed on leaving. Raises ``util.AudioError`` when
    stdin is a terminal or empty; one raised inside names stdin, not the
    temporary file."""
    if source is None and sys.stdin is None:
        raise util.AudioError('stdin: is closed; pipe audio in or give a file')
    source = source or sys.stdin.buffer
    if source.isatty():
        raise util.AudioError('stdin: is a terminal; pipe audio in (... | make_separate.py '
                              '-i - ...) or give a file')
    path = util.temporary_path(os.path.join(work_folder(out_path), 'stdin'))
    with util.standing_in(path):            # a failed copy names the spool itself
        with util.writing(path), open(path, 'wb') as spool:
            shutil.copyfileobj(source, spool, COPY_BYTES)
        if os.path.getsize(path) == 0:
            raise util.AudioError('stdin: no bytes came in')
        with util.standing_in(path, 'stdin'):
            yield path


@contextlib.contextmanager
def stdout_file(target=None, extension='.wav'):
    """Yield a temporary output path (``extension`` sets its format); once
    the block completes, copy the file to ``target`` (stdout's bytes by
    default) and remove it, or only remove it if the block fails."""
    target = target or sys.stdout.buffer
    path = os.path.join(tempfile.gettempdir(), STDOUT_NAME.format(os.getpid(), extension))
    with util.standing_in(path, 'stdout'):     # a refusal names stdout, not the file
        yield path
        with open(path, 'rb') as finished:
            try:
                shutil.copyfileobj(finished, target, COPY_BYTES)
                target.flush()
            except BrokenPipeError:
                util.silence_stream(target)
                raise util.OutputError('stdout: the program reading it closed the pipe '
                                       'before the speech was all written') from None
            except OSError as err:          # `-o - > /dev/full`: no space left...
                util.silence_stream(target)
                raise util.OutputError('stdout: cannot write ({})'.format(
                    err.strerror or err)) from None


def check_stdout(target):
    """Refuse, before any work, ``target``, stdout's binary stream for
    ``-o -`` (None: stdout was closed when the program started, ``>&-``),
    where it cannot take the audio: closed, or a terminal (a wav, or any
    ``--format``, is of no use there and can garble it). Raises
    ``util.AudioError`` naming stdout."""
    if target is None:
        raise util.AudioError('stdout: is closed; give -o a file, or -o - with stdout open '
                              '(... -o - | ...)')
    if target.isatty():
        raise util.AudioError('stdout: is a terminal; pipe the audio on (make_separate.py '
                              '-o - | ...) or give -o a file')


def remove_leftovers(folder=None):
    """Remove what runs in a pipe that were killed (``kill -9``, a crash)
    left in ``folder`` (``$TMPDIR`` by default), where no later run writing
    to an output folder looks: the stdin spool (``.stdin.PID.partial``, the
    whole input), its decoded copy and the stdout file's temporaries
    (``util.remove_stale_temporaries``), and the stdout file itself
    (``make_separate-PID-stdout.wav``), each once its process is gone and
    it is unchanged for ``const.STALE_TEMPORARY_SECONDS``; with them any
    other temporary file of the suite's naming there whose run was killed
    (the copies evaluate.py and make_dataset.py decode into ``$TMPDIR``).
    Prints a note naming them; returns their paths."""
    folder = folder or tempfile.gettempdir()
    removed = util.remove_stale_temporaries(folder) + \
        util.remove_stale_temporaries(folder, _STDOUT_FILE)
    if removed:
        print('note: removed {} file{} that killed runs in a pipe left in {} ({})'.format(
            len(removed), '' if len(removed) == 1 else 's', folder, ', '.join(removed)),
            file=sys.stderr)
    return removed
