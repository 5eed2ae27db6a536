"""Speed and memory of make_separate.py on synthetic mixtures of several lengths.

For each length (``--lengths``, seconds) a mixture is written to a temporary
folder, block by block so that even 60 minutes never sit in memory: a
vibrato harmonic stack gated into syllables (the "speech"), a two-note
harmonic chord changing every two seconds (the "music") and decaying noise
bursts (the "drums"), at 16 kHz mono or, with ``--sr 44100 --channels 2``,
CD-like stereo. Then, for each patch batch size (``--batches``),

    python make_separate.py -i IN -o OUT -m MODEL --batch B --overwrite

runs in a fresh process. The table gives, per run:

- ``wall s``: the whole process, Python and Chainer start-up included;
- ``separate s``: the time make_separate.py reports for the separation
  itself (its "real-time factor" line: reading, both passes, writing);
- ``RTF``: ``separate s / audio s`` (below 1: faster than real time);
- ``CPU s``: user + system time of the process (``CPU s / wall s`` is the
  number of cores it kept busy);
- ``peak RSS MB``: the process's own high-water mark of resident memory
  (``ru_maxrss`` from ``wait4`` on that one child).

``--encode m4a`` (or another extension ffmpeg writes) passes the mixture
as that file instead, AAC for m4a and mp4, so the runs include ffmpeg
decoding it (decoding.py); its peak RSS is then the larger of
make_separate.py's and ffmpeg's.

``--profile [SECONDS]`` instead runs the separation in this process on one
mixture (600 s by default) with timers around each stage: reading and
resampling, STFT, the U-Net, patching and cross-fading of the masks, mask
application, ISTFT and writing. A timed method or function that
make_separate.py no longer has is an error naming it.

Without ``--model`` (or when the file is missing) a randomly initialised
U-Net is saved to the temporary folder: the speed does not depend on the
weights.

Usage: python benchmarks/separate_speed.py                     (10 s .. 60 min)
       python benchmarks/separate_speed.py -l 10 -b 8          (a smoke run)
       python benchmarks/separate_speed.py --profile           (600 s, batch 1)
"""
import argparse
import contextlib
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict

import numpy as np
import soundfile as sf

import common

import compat  # noqa: E402,F401
import chainer  # noqa: E402
import cli  # noqa: E402
import const  # noqa: E402
import decoding  # noqa: E402
import network  # noqa: E402

PROG = 'separate_speed.py'
DEFAULT_LENGTHS = [10, 60, 600, 3600]      # seconds: 10 s, 1 min, 10 min, 60 min
DEFAULT_BATCHES = [1, 8, 32]               # patches per forward pass
PROFILE_SECONDS = 600.0
SEPARATE_SCRIPT = os.path.join(common.ROOT, 'make_separate.py')
# make_separate.py's closing line: "... (12.0 s of audio in 3.4 s, real-time factor 0.283)".
SEPARATE_TIME = re.compile(
    r'([0-9.]+) s of audio in ([0-9.]+) s, real-time factor ([0-9.]+)')


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='Real-time factor and peak memory of make_separate.py')
    parser.add_argument('--lengths', '-l', type=float, nargs='+', default=None,
                        metavar='SECONDS',
                        help='mixture lengths in seconds (default: {}; not with --profile)'.format(
                            ' '.join('{:g}'.format(s) for s in DEFAULT_LENGTHS)))
    parser.add_argument('--batches', '-b', type=int, nargs='+', default=None, metavar='B',
                        help='patches per forward pass, make_separate.py --batch (default: '
                             '{}; with --profile {})'.format(
                                 ' '.join(map(str, DEFAULT_BATCHES)), const.SEPARATE_BATCH))
    parser.add_argument('--model', '-m', default=const.MODEL_FILE,
                        help='U-Net model; a random one is used if it is missing '
                             '(default: %(default)s)')
    parser.add_argument('--sr', type=int, default=const.SR,
                        help='sample rate of the synthetic input in Hz (default: %(default)s)')
    parser.add_argument('--channels', '-c', type=int, default=1,
                        help='channels of the synthetic input (default: %(default)s)')
    parser.add_argument('--subtype', default='PCM_16',
                        help='sample format of the synthetic input (default: %(default)s)')
    parser.add_argument('--encode', default=None, metavar='EXT',
                        help='pass the mixture encoded by ffmpeg as this type, e.g. m4a '
                             '(AAC), to time decoding it (default: the wav itself)')
    parser.add_argument('--repeat', '-r', type=int, default=1,
                        help='runs per cell; the fastest is reported (default: %(default)s; '
                             'not with --profile)')
    parser.add_argument('--profile', '-p', type=float, nargs='?', const=PROFILE_SECONDS,
                        default=None, metavar='SECONDS',
                        help='time the stages in-process on one mixture of SECONDS '
                             '(default when given: {:g})'.format(PROFILE_SECONDS))
    parser.add_argument('--sep-args', default='', metavar='ARGS',
                        help='extra make_separate.py arguments, e.g. --sep-args="--sr" '
                             '(not used by --profile)')
    parser.add_argument('--markdown', action='store_true',
                        help='print the machine and tables as markdown (docs/BENCHMARKS.md)')
    parser.add_argument('--workdir', '-w', default=None,
                        help='where the temporary folder is made (default: the system\'s); '
                             'needs room for the longest mixture and its output')
    parser.add_argument('--keep', '-k', action='store_true',
                        help='keep the temporary folder: each run\'s make_separate.py log '
                             '(and the random model); the inputs and outputs are removed '
                             'after their runs to save room')
    parser.add_argument('--seed', '-s', type=int, default=0,
                        help='seed of the noise bursts and the random model (default: %(default)s)')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), run, argv)


def run(args):
    problem = check_args(args)
    if problem:
        raise cli.UserError(problem)
    if args.lengths is None:
        args.lengths = DEFAULT_LENGTHS
    if args.batches is None:
        args.batches = [const.SEPARATE_BATCH] if args.profile else DEFAULT_BATCHES
    try:
        # Absolute: make_separate.py runs with the repository root as its
        # working folder, wherever this script was started.
        workdir = os.path.abspath(tempfile.mkdtemp(prefix='separate_speed_',
                                                   dir=args.workdir))
    except OSError as err:
        raise cli.UserError('--workdir {}: cannot make the temporary folder there ({})'.format(
            args.workdir, err.strerror or err)) from None
    try:
        model, model_note = resolve_model(args.model, workdir, args.seed)
        lengths = [args.profile] if args.profile else args.lengths
        print_settings(args, lengths, model_note, workdir)
        if args.profile:
            return profile(args, model, workdir)
        return benchmark(args, model, workdir)
    finally:
        if args.keep:
            print('# kept: {}'.format(workdir))
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def check_args(args):
    """The first problem with the arguments, as a message, or None."""
    if args.profile is not None and (args.lengths is not None or args.repeat != 1
                                     or args.sep_args):
        return '--profile times one mixture of the length it is given, once, as ' \
               'make_separate.py runs by default: --lengths, --repeat and --sep-args ' \
               'do not apply to it'
    if not all(math.isfinite(length) and length > 0 for length in args.lengths or ()):
        return '--lengths: every length must be a positive, finite number of seconds'
    if args.profile is not None and not (math.isfinite(args.profile) and args.profile > 0):
        return '--profile {:g}: the length must be a positive, finite number of ' \
               'seconds'.format(args.profile)
    if args.batches and any(b <= 0 for b in args.batches):
        return '--batches: every batch size must be at least 1'
    if args.sr <= 0 or args.channels <= 0:
        return '--sr and --channels must be positive'
    if args.repeat <= 0:
        return '--repeat must be at least 1'
    if not sf.check_format('WAV', args.subtype):
        return '--subtype {}: not a wav sample format (e.g. PCM_16, PCM_24, FLOAT)'.format(
            args.subtype)
    if args.workdir and not os.path.isdir(args.workdir):
        return '--workdir {}: no such folder'.format(args.workdir)
    if args.encode and '.' + args.encode.lower() not in const.DECODED_EXTENSIONS:
        return '--encode {}: not one of {}'.format(args.encode, ' '.join(
            e[1:] for e in const.DECODED_EXTENSIONS))
    try:
        shlex.split(args.sep_args)
    except ValueError as err:
        return '--sep-args {}: {}'.format(args.sep_args, err)
    if args.encode and decoding.ffmpeg_executable() is None:
        return '--encode {}: no ffmpeg ({})'.format(args.encode, decoding.INSTALL_HINT)
    return None


def print_settings(args, lengths, model_note, workdir):
    settings = [
        ('mode', 'profile (stages timed in-process)' if args.profile else
         'make_separate.py in a fresh process per run'),
        ('lengths', ', '.join(common.describe_seconds(s) for s in lengths)),
        ('batches', ' '.join(map(str, args.batches))),
        ('input', 'synthetic, {} Hz, {} channel{}, {}'.format(
            args.sr, args.channels, cli.plural(args.channels), args.subtype)
         + (', passed as {} (ffmpeg)'.format(args.encode) if args.encode else '')),
        ('model', model_note),
        ('repeat', args.repeat),
        ('workdir', workdir)]
    if args.sep_args and not args.profile:
        settings.append(('make_separate.py extra arguments', args.sep_args))
    common.print_machine(settings)


def resolve_model(path, workdir, seed):
    """``(path, description)``: ``path`` if it exists, else a random U-Net
    saved in ``workdir``."""
    if os.path.isfile(path):
        return os.path.abspath(path), path
    np.random.seed(seed)
    random_path = os.path.join(workdir, 'random.model')
    chainer.serializers.save_npz(random_path, network.UNet())
    return random_path, ('{} not found: a random U-Net saved to {} (the speed does not '
                         'depend on the weights)'.format(path, random_path))


# --------------------------------------------------------------------------
# The synthetic mixture

CHORD_NOTES = (110.0, 130.81, 146.83, 164.81, 196.0, 220.0)   # Hz, changes every 2 s


def synthetic_block(start, n, sr, channels, rng):
    """``(n, channels)`` float32 samples ``start .. start + n`` of the mixture.

    Every component is a closed-form function of the absolute time, so the
    blocks join without clicks whatever their size.
    """
    t = (start + np.arange(n)) / sr
    # "Speech": 130 Hz with 5 Hz vibrato of +-8 %, six harmonics, syllables at
    # 4 Hz in phrases of 3 s followed by 1 s of pause.
    depth, rate = 0.08, 5.0
    phase = 2 * np.pi * 130.0 * (t - depth * np.cos(2 * np.pi * rate * t) / (2 * np.pi * rate))
    speech = sum(np.sin(k * phase) / k for k in range(1, 7))
    speech *= (0.5 - 0.5 * np.cos(2 * np.pi * 4.0 * t)) * ((t % 4.0) < 3.0)
    # "Music": a root and its fifth, four harmonics each, a new root every 2 s.
    root = np.asarray(CHORD_NOTES)[(t // 2.0).astype(np.int64) % len(CHORD_NOTES)]
    music = sum(np.sin(2 * np.pi * k * f * t) / k
                for f in (root, 1.5 * root) for k in range(1, 5))
    # "Drums": a noise burst decaying over 15 ms every half second.
    bursts = rng.standard_normal(n) * np.exp(-(t % 0.5) / 0.015)
    out = np.empty((n, channels), np.float32)
    for c in range(channels):
        pan = c / max(1, channels - 1)          # 0 .. 1 across the channels
        out[:, c] = (0.25 * speech + 0.08 * (1.0 - 0.4 * pan) * music
                     + 0.2 * (0.6 + 0.4 * pan) * bursts)
    return out


def write_mixture(path, seconds, sr, channels, subtype, seed,
                  block_seconds=const.BLOCK_SECONDS):
    """Write ``seconds`` of the synthetic mixture to ``path``, one block of
    ``block_seconds`` at a time (memory stays flat); returns the samples."""
    total = int(round(seconds * sr))
    block = max(1, int(block_seconds * sr))
    with sf.SoundFile(path, 'w', sr, channels, subtype, format='WAV') as target:
        for index, start in enumerate(range(0, total, block)):
            rng = np.random.default_rng([seed, index])
            target.write(synthetic_block(start, min(block, total - start), sr, channels, rng))
    return total


def make_input(args, seconds, workdir):
    path = os.path.join(workdir, 'mix_{:g}s_{}hz_{}ch.wav'.format(seconds, args.sr, args.channels))
    started = time.perf_counter()
    write_mixture(path, seconds, args.sr, args.channels, args.subtype, args.seed)
    print('# input {}: {:.1f} MB, written in {:.1f} s'.format(
        common.describe_seconds(seconds), os.path.getsize(path) / 1e6,
        time.perf_counter() - started))
    if args.encode:
        path = encode(path, args.encode.lower())
    sys.stdout.flush()
    return path


def encode(wav_path, extension):
    """``wav_path`` encoded by ffmpeg into ``.extension`` beside it (AAC
    where the container takes it), the wav removed; the new path."""
    path = os.path.splitext(wav_path)[0] + '.' + extension
    codec = ['-c:a', 'aac', '-b:a', '160k'] if extension in ('m4a', 'mp4', 'mov', 'aac') else []
    started = time.perf_counter()
    subprocess.run([decoding.ffmpeg_executable(), '-v', 'error', '-y', '-i', wav_path,
                    *codec, path], check=True)
    os.remove(wav_path)
    print('# encoded as {}: {:.1f} MB in {:.1f} s'.format(
        os.path.basename(path), os.path.getsize(path) / 1e6, time.perf_counter() - started))
    return path


# --------------------------------------------------------------------------
# One make_separate.py process

def run_measured(command, log_path):
    """Run ``command`` in a fresh process; ``dict(status, wall, cpu, peak_rss)``.

    ``peak_rss`` (bytes) is the child's own ``ru_maxrss``, from ``wait4`` on
    that pid (not the maximum over every child this process ever had). Where
    ``wait4`` is missing the RSS is sampled with psutil every 0.05 s.
    """
    with open(log_path, 'wb') as log:
        started = time.perf_counter()
        # Stopped and waited for if this process is interrupted or terminated.
        with common.child_process(command, stdout=log, stderr=subprocess.STDOUT,
                                  cwd=common.ROOT) as process:
            if hasattr(os, 'wait4'):
                _, status, usage = os.wait4(process.pid, 0)
                wall = time.perf_counter() - started
                process.returncode = os.waitstatus_to_exitcode(status)
                scale = 1 if sys.platform == 'darwin' else 1024     # Linux reports KiB
                return dict(status=process.returncode, wall=wall,
                            cpu=usage.ru_utime + usage.ru_stime,
                            peak_rss=usage.ru_maxrss * scale)
            return _run_sampled(process, started)


def _run_sampled(process, started):
    import psutil
    peak, cpu = [0], [0.0]
    done = threading.Event()

    def sample():
        try:
            handle = psutil.Process(process.pid)
            while not done.is_set():
                peak[0] = max(peak[0], handle.memory_info().rss)
                times = handle.cpu_times()
                cpu[0] = times.user + times.system
                done.wait(0.05)
        except psutil.Error:
            pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    status = process.wait()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return dict(status=status, wall=wall, cpu=cpu[0], peak_rss=peak[0])


def separate_command(input_path, output_path, model, batch, extra):
    return [sys.executable, SEPARATE_SCRIPT, '-i', input_path, '-o', output_path,
            '-m', model, '--batch', str(batch), '--overwrite'] + shlex.split(extra)


def reported_seconds(log_path, audio_seconds):
    """The separation time make_separate.py printed, or None.

    Its real-time factor (three decimals) times ``audio_seconds``, the
    known length of the generated mixture (the audio seconds it prints are
    rounded to 0.1 s: 0.01 s shows as 0.0, 2.26 s as 2.3), or the elapsed
    seconds it prints (one decimal) where those are finer: for mixtures
    longer than 100 s, or a factor printed as 0.000."""
    with open(log_path, errors='replace') as handle:
        found = SEPARATE_TIME.findall(handle.read())
    if not found:
        return None
    _, elapsed, factor = map(float, found[-1])
    if factor > 0 and 0.0005 * audio_seconds < 0.05:
        return factor * audio_seconds
    return elapsed


def tail(path, lines=15):
    with open(path, errors='replace') as handle:
        return ''.join(handle.readlines()[-lines:])


def benchmark(args, model, workdir):
    header = ['audio', 'batch', 'wall s', 'separate s', 'RTF', 'CPU s', 'peak RSS MB']
    rows, failed = [], 0
    output = os.path.join(workdir, 'speech.wav')
    for seconds in args.lengths:
        input_path = make_input(args, seconds, workdir)
        audio_seconds = int(round(seconds * args.sr)) / args.sr     # as write_mixture writes
        for batch in args.batches:
            command = separate_command(input_path, output, model, batch, args.sep_args)
            best, peak = None, 0
            for attempt in range(args.repeat):
                # One log per run, so that --keep keeps them all.
                log_path = os.path.join(workdir, 'make_separate_{:g}s_batch{}_run{}.log'.format(
                    seconds, batch, attempt + 1))
                result = run_measured(command, log_path)
                if result['status'] != 0:
                    break
                result['separate'] = reported_seconds(log_path, audio_seconds)
                peak = max(peak, result['peak_rss'])
                if best is None or result['wall'] < best['wall']:
                    best = result
            if result['status'] != 0:
                failed += 1
                print('# FAILED ({}): {}\n{}'.format(result['status'], shlex.join(command),
                                                     tail(log_path)), file=sys.stderr)
                rows.append([common.describe_seconds(seconds), str(batch), 'failed',
                             '', '', '', ''])
                continue
            rows.append(table_row(seconds, batch, dict(best, peak_rss=peak)))
            print('# done: {}'.format('  '.join('{} {}'.format(h, v)
                                                 for h, v in zip(header, rows[-1]))))
            sys.stdout.flush()
        os.remove(input_path)
        if os.path.exists(output):
            os.remove(output)
    print()
    common.print_table(header, rows, args.markdown)
    print('\nRTF = separate s / audio s (make_separate.py\'s own timing: read, peak pass, '
          'separation, write); wall s adds Python and Chainer start-up and the model load. '
          'Best of {} run{}.'.format(args.repeat, cli.plural(args.repeat)))
    return 1 if failed else 0


def table_row(seconds, batch, result):
    separate = result['separate']
    basis = separate if separate is not None else result['wall']
    return [common.describe_seconds(seconds), str(batch),
            '{:.2f}'.format(result['wall']),
            '{:.2f}'.format(separate) if separate is not None else 'n/a',
            '{:.3f}{}'.format(basis / seconds, '' if separate is not None else ' (wall)'),
            '{:.1f}'.format(result['cpu']),
            '{:.0f}'.format(result['peak_rss'] / 2 ** 20)]


# --------------------------------------------------------------------------
# --profile: the stages, timed in this process

STAGES = ('read', 'resample', 'STFT', 'network (U-Net)', 'patching + cross-fade',
          'mask apply', 'ISTFT', 'write', 'other')


class StageClock:
    """Exclusive time per stage: while a nested stage runs, the enclosing one
    is paused, so the stages add up to the time spent inside any of them."""

    def __init__(self):
        self.exclusive = defaultdict(float)
        self.inclusive = defaultdict(float)
        self._stack = []
        self._mark = 0.0

    @contextlib.contextmanager
    def stage(self, name):
        now = time.perf_counter()
        if self._stack:
            self.exclusive[self._stack[-1]] += now - self._mark
        self._stack.append(name)
        self._mark = entered = now
        try:
            yield
        finally:
            now = time.perf_counter()
            self.exclusive[self._stack.pop()] += now - self._mark
            self.inclusive[name] += now - entered
            self._mark = now

    def wrap(self, name, function):
        def timed(*args, **kwargs):
            with self.stage(name):
                return function(*args, **kwargs)
        return timed

    def wrap_iterator(self, name, iterator):
        """Yield from ``iterator``, timing only the work of producing each item."""
        iterator = iter(iterator)
        while True:
            with self.stage(name):
                try:
                    item = next(iterator)
                except StopIteration:
                    return
            yield item


def _timed_subclass(clock, base, methods):
    """A subclass of ``base`` whose ``methods`` (``{name: stage}``) are timed.
    A method ``base`` lacks (make_separate.py changed shape) is an error."""
    for name in methods:
        _require(base, name)
    namespace = {name: clock.wrap(stage, getattr(base, name)) for name, stage in methods.items()}
    return type('Timed' + base.__name__, (base,), namespace)


def _require(owner, name):
    if not hasattr(owner, name):
        raise AttributeError('--profile: {}.{} no longer exists; update the hooks in '
                             'benchmarks/separate_speed.py'.format(owner.__name__, name))


@contextlib.contextmanager
def instrumented(clock, util, separate):
    """Swap timed versions of the pipeline's pieces into the ``util`` and
    ``make_separate`` modules for the duration. 'mask apply' is the exclusive
    time of ``_MaskingPass.push``: the STFT, patching and ISTFT it calls are
    timed as their own stages, leaving the masks applied to the mixture's
    frames (``Separator.mask``, speech = mask x mixture, music = mixture -
    speech) and their bookkeeping."""
    hooks = [
        (util, 'stream_audio', lambda f: (
            lambda *a, **k: clock.wrap_iterator('read', f(*a, **k)))),
        (util, 'Resampler', lambda c: _timed_subclass(
            clock, c, {'process': 'resample', 'finish': 'resample'})),
        (util, 'StreamingSTFT', lambda c: _timed_subclass(
            clock, c, {'push': 'STFT', 'finish': 'STFT'})),
        (util, 'PatchMasker', lambda c: _timed_subclass(
            clock, c, {'push': 'patching + cross-fade', 'finish': 'patching + cross-fade'})),
        (util, 'StreamingISTFT', lambda c: _timed_subclass(
            clock, c, {'push': 'ISTFT', 'finish': 'ISTFT'})),
        (separate, 'AudioSink', lambda c: _timed_subclass(
            clock, c, {'__init__': 'write', 'write': 'write', 'finalize': 'write',
                       'publish': 'write'})),
        (separate, '_MaskingPass', lambda c: _timed_subclass(clock, c, {'push': 'mask apply'})),
        (separate, 'peak_magnitude', lambda f: clock.wrap('peak pass', f)),
    ]
    saved = []
    try:
        for module, name, make in hooks:
            _require(module, name)
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, make(getattr(module, name)))
        yield
    finally:
        for module, name, original in reversed(saved):
            setattr(module, name, original)


def profile(args, model, workdir):
    import make_separate
    import util

    seconds = args.profile
    input_path = make_input(args, seconds, workdir)
    output = os.path.join(workdir, 'speech.wav')
    for batch in args.batches:
        clock = StageClock()
        started = time.perf_counter()
        separator = make_separate.load_separator(model, batch=batch)
        separator.mask_fn = clock.wrap('network (U-Net)', separator.mask_fn)
        util.stft(np.zeros(const.FFT_SIZE, np.float32))    # librosa's imports on first use
        setup = time.perf_counter() - started
        with instrumented(clock, util, make_separate):
            started = time.perf_counter()
            make_separate.separate_file(input_path, output, separator)
            total = time.perf_counter() - started
        clock.exclusive['other'] = max(0.0, total - sum(clock.exclusive.values()))
        # The peak pass's own work (max |STFT|) is glue; its reading and STFT
        # are already in their rows.
        clock.exclusive['other'] += clock.exclusive.pop('peak pass', 0.0)
        print_profile(args, seconds, batch, clock, total, setup)
    os.remove(input_path)
    return 0


def print_profile(args, seconds, batch, clock, total, setup):
    import resource
    header = ['stage', 'seconds', 'share', 'RTF']
    rows = [[stage, '{:.2f}'.format(clock.exclusive.get(stage, 0.0)),
             '{:.1f} %'.format(100.0 * clock.exclusive.get(stage, 0.0) / total),
             '{:.4f}'.format(clock.exclusive.get(stage, 0.0) / seconds)]
            for stage in STAGES]
    rows.append(['total', '{:.2f}'.format(total), '100.0 %', '{:.4f}'.format(total / seconds)])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (
        1 if sys.platform == 'darwin' else 1024)
    print()
    print('{} of audio, batch {}:'.format(common.describe_seconds(seconds), batch))
    print()
    common.print_table(header, rows, args.markdown)
    print()
    print('The peak pass (the whole file read and transformed once for the '
          'normalisation) took {:.2f} s of the total; model load and librosa\'s '
          'first-use imports {:.2f} s (not in the total); peak RSS of this process '
          '{:.0f} MB.'.format(
              clock.inclusive.get('peak pass', 0.0), setup, peak / 2 ** 20))
    sys.stdout.flush()


if __name__ == '__main__':
    sys.exit(main())
