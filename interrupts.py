"""Ctrl-C while a command starts: one line, not the traceback of an import.

A script imports NumPy, Chainer, librosa and numba before its work begins,
which takes a second or more; Ctrl-C then would print a page of import
traceback. Run as a program, a script calls ``quiet_while_loading()``
first of all (under ``if __name__ == '__main__':``), and ``cli.run`` gives Ctrl-C back to Python (a
``KeyboardInterrupt`` that the run turns into its own line) when the work
begins. Imported as a module (the tests, the Python API), nothing changes.
"""
import contextlib
import os
import signal
import sys
import threading

EXIT_INTERRUPTED = 130      # as the shell reports a program ended by SIGINT
EXIT_TERMINATED = 143       # ... and by SIGTERM


STOPS = {signal.SIGINT: ('interrupted', EXIT_INTERRUPTED),
         signal.SIGTERM: ('terminated', EXIT_TERMINATED)}


def _stopped(signum, frame):
    word, status = STOPS[signum]
    os.write(2, '{}: {}\n'.format(os.path.basename(sys.argv[0]), word).encode())
    os._exit(status)                # nothing is written yet, nothing to clean up


def quiet_while_loading():
    """Until ``restore`` is called, Ctrl-C ends the program with one line
    and status 130, unless Ctrl-C is ignored (a background job of a shell
    script, ``nohup``) or handled otherwise; SIGTERM likewise with status
    143, as it does once the work runs (it had ended the program without a
    word)."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _stopped)
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _stopped)


def loading():
    """Whether ``quiet_while_loading`` holds Ctrl-C: the program is still
    starting."""
    return signal.getsignal(signal.SIGINT) is _stopped


def restore():
    """Ctrl-C raises ``KeyboardInterrupt`` again, if ``quiet_while_loading``
    had taken it over (called where the work begins)."""
    if signal.getsignal(signal.SIGINT) is _stopped:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGTERM) is _stopped:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def held_stops():
    """Within, a Ctrl-C or SIGTERM waits: it is delivered on leaving, as
    its handler before would have taken it, so that what is done within
    (a set of files renamed into place, a model written) is done whole.
    Outside the main thread, where handlers cannot be set, nothing is held."""
    held = []
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not None:        # None: not set from Python
                previous[signum] = signal.signal(signum, lambda got, frame: held.append(got))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        # SIGTERM first: the handler of the first raised ends the loop, and
        # a SIGTERM held beside a Ctrl-C must still end the run as SIGTERM
        for signum in sorted(set(held), key=lambda got: got != signal.SIGTERM):
            signal.raise_signal(signum)
