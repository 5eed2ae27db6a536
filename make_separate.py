"""Separate the speech from music in a file or in every file of a folder.

The input (any rate, channels and libsndfile format; m4a, mp4, mkv... decoded
by ffmpeg first, decoding.py) is read in blocks,
resampled to 16 kHz mono and turned into an STFT; the U-Net's mask is
computed in overlapping patches of ``PATCH_LENGTH`` frames, cross-faded, and
applied to the mixture's STFT; the inverse STFT is written block by block.
With ``--shifts N`` this is done N times on STFT frame grids offset by
``H / N`` samples and the estimates are averaged. Memory therefore stays
flat however long the input, and the output has exactly the input's
duration (16 kHz, or the input's rate with ``--sr``).

Usage: python3 make_separate.py -i mix.wav -o speech.wav [-m unet.model]
       python3 make_separate.py -i mixdown -o separate     (a whole folder)
       mpiexec -n N python3 make_separate.py -i mixdown -o separate
                                 (the folder's files shared out among N processes)
       ... | python3 make_separate.py -i - -o - | ...   (stdin to stdout, a wav or --format)
"""
import interrupts  # first: Ctrl-C while the rest loads is one line, not a traceback
if __name__ == '__main__':
    interrupts.quiet_while_loading()

import argparse
import contextlib
import itertools
import math
import numbers
import os
import stat
import sys
import time
import traceback
import unicodedata

import compat  # noqa: F401  (before chainer: NumPy 2 / Python 3.12 shims)
import chainer
import numpy as np
import soundfile as sf
from tqdm import tqdm

import channels as channels_module
import cli
import const
import decoding
import equalising
import high_band
import network
import passage_gate
import passage_report
import separation_report
import standard_streams
import util

PROG = 'make_separate.py'
KEPT_NOTE = 'clean: written as it came in (--keep-clean)'
PASSAGES_NOTE = 'clean in {} of {} passages ({:.1f} s): written as they came in (--keep-clean)'
MUSIC_NOTE = 'music alone: written {}'
MUSIC_PASSAGES_NOTE = 'music alone in {} of {} passages ({:.1f} s): written {}'
SILENCED = 'as silence'
SILENCED_NOTE = MUSIC_NOTE.format(SILENCED + ' (--gate-music)')


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description='Speech separation by U-Net')
    parser.add_argument('--input', '-i', default=const.PATH_MIXDOWN,
                        help='audio file or folder of mixtures, or - for stdin '
                             '(default: %(default)s)')
    parser.add_argument('--out', '-o', default=const.PATH_SEPARATE,
                        help='output file (with an audio extension) or folder, or - for a '
                             'wav on stdout (default: %(default)s)')
    parser.add_argument('--model', '-m', default=const.MODEL_FILE,
                        help='U-Net model, or a trainer snapshot (default: %(default)s)')
    parser.add_argument('--gpu', '-g', type=int, default=-1,
                        help='GPU id; negative for the CPU (default: %(default)s)')
    parser.add_argument('--sr', nargs='?', const='input', default=None, metavar='HZ',
                        help='write at the input\'s rate (--sr) or at HZ instead of 16 kHz')
    parser.add_argument('--full-band', action='store_true',
                        help='write at the input\'s rate (or --sr HZ) and keep the '
                             'input\'s band above 7.3 kHz, which the 16 kHz separation '
                             'does not cover: the speech gets its share of 4 to 7.3 kHz '
                             'of it, frame by frame')
    parser.add_argument('--keep-channels', nargs='?', const=const.CHANNEL_MASKS[0],
                        choices=const.CHANNEL_MASKS, default=None,
                        help='write as many channels as the input: each channel under the '
                             'mask the network gives their mean, or with "each" each channel '
                             'separated by itself (voices on channels of their own, as two '
                             'microphones; as many times the work as channels); without '
                             'it, one channel: the separated mean of the input\'s')
    parser.add_argument('--music-out', default=None, metavar='FILE|DIR',
                        help='also write the residual music here')
    parser.add_argument('--music-level', type=float, default=None, metavar='DB',
                        help='keep the music in the speech output, turned down by DB '
                             'decibels (below 0, e.g. -15: the voice brought forward over '
                             'its bed rather than cut out of it); --music-out still gets '
                             'the music as separated (default: the music removed)')
    parser.add_argument('--keep-clean', type=float, default=None, metavar='DB',
                        help='where the speech estimate stands more than DB decibels above '
                             'the music estimate (e.g. 20: speech with no music under it), '
                             'write the input as it came in, at the output\'s rate and '
                             'channels, rather than through the mask, and the --music-out '
                             'there as silence; judged per --passage (default: everything '
                             'separated)')
    parser.add_argument('--gate-music', type=float, default=None, metavar='DB',
                        help='where the music estimate stands more than DB decibels above '
                             'the speech estimate (e.g. 30: music with no voice over it, '
                             'an intro, a bridge), write silence as the speech rather than '
                             'what the mask leaves of the music, and the input as it came '
                             'in as the --music-out; judged per --passage. Leave it off '
                             'where a voice may sit 10 dB or more under the music: the '
                             'model loses such voices and the gate silences what is left '
                             '(default: everything separated)')
    parser.add_argument('--passage', '--clean-passage', dest='passage', default=None,
                        metavar='SECONDS|file',
                        help='how much --keep-clean and --gate-music judge at a time, and '
                             '--passage-report measures: passages of SECONDS (a music intro '
                             'silenced, the talk after it kept), a gated one fading over '
                             '{:g} s beside one judged otherwise; or "{}", the whole file at '
                             'once (default: {:g})'.format(
                                 const.PASSAGE_FADE_S, const.WHOLE_FILE_PASSAGE,
                                 const.PASSAGE_S))
    parser.add_argument('--hard-mask', action='store_true',
                        help='binary mask (threshold {}) as upstream ComputeMask; '
                             'default soft mask'.format(const.HARD_MASK_THRESHOLD))
    parser.add_argument('--batch', type=int, default=const.SEPARATE_BATCH,
                        help='patches per forward pass (default: %(default)s)')
    add_separation_options(parser)
    parser.add_argument('--format', choices=const.OUTPUT_FORMATS, default=None,
                        help='file type of the outputs a run names itself: in an output '
                             'folder (a.mp3 -> a.flac) and on stdout (-o -); a file named '
                             'with -o or --music-out takes its own extension (default: '
                             '{})'.format(const.OUTPUT_FORMATS[0]))
    parser.add_argument('--subtype', default=None,
                        help='sample format, e.g. PCM_16, PCM_24, FLOAT (default: FLOAT '
                             'for wav, w64 and rf64, the format\'s usual one otherwise)')
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument('--overwrite', action='store_true',
                          help='replace existing output files')
    existing.add_argument('--skip-existing', action='store_true',
                          help='leave alone the inputs whose outputs (speech, and music with '
                               '--music-out) all exist, so that a folder run that was '
                               'stopped picks up where it left off')
    parser.add_argument('--report', default=None, metavar='CSV',
                        help='also write one row per input: its outputs, status, seconds, '
                             'and the speech and music estimates\' levels relative to the '
                             'mixture and to each other (dB), to find the files that had '
                             'music under them')
    parser.add_argument('--passage-report', default=None, metavar='CSV',
                        help='also write one row per passage of each input (--passage '
                             'seconds): its start and end, the speech and music '
                             'estimates\' levels there (dB), and how it was written, to '
                             'find where in a recording the music is and keep the clean '
                             'stretches')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def add_separation_options(parser, scope=''):
    """The options that set how the network runs over a recording (--overlap,
    --patch-length, --level, --equalise, --shifts, --speeds), shared with
    evaluate.py, whose help adds ``scope`` (e.g. ``' for -m'``);
    ``separation_settings`` reads them."""
    parser.add_argument('--overlap', type=int, default=None,
                        help='frames shared by neighbouring patches{} (default: {}, or '
                             'half the --patch-length where that is less)'.format(
                                 scope, const.PATCH_OVERLAP))
    parser.add_argument('--patch-length', type=int, default=const.PATCH_LENGTH, metavar='FRAMES',
                        help='frames per network patch{}, a multiple of {} (default: '
                             '%(default)s, as in training)'.format(scope, const.PATCH_MULTIPLE))
    parser.add_argument('--level', choices=const.LEVELS, default=const.LEVELS[0],
                        help='network input level{}: patch brings each patch to the '
                             'level the model was trained at, so a loud moment elsewhere '
                             'does not change the rest; file scales by the file\'s peak '
                             'only, as upstream '
                             '(default: %(default)s)'.format(scope))
    parser.add_argument('--equalise', choices=const.EQUALISE, default=const.EQUALISE[0],
                        help='network input spectrum{}: boost raises, in what the '
                             'network sees, the bands where a patch falls short of the '
                             'training mixtures\' long-term shape (by at most {:g} dB: a '
                             'telephone line, a small speaker, a bright microphone); '
                             'the mask applies to the mixture as it is '
                             '(default: %(default)s)'.format(scope, const.EQUALISE_LIMIT_DB))
    parser.add_argument('--shifts', type=int, default=const.SHIFTS, metavar='N',
                        help='average N separations{} whose STFT frames are offset by '
                             '{} / N samples: cleaner speech for N times the work; 1 is '
                             'fastest (default: %(default)s)'.format(scope, const.H))
    parser.add_argument('--speeds', type=float, nargs='+', default=list(const.SPEEDS),
                        metavar='FACTOR',
                        help='also separate the mixture played FACTOR times as fast{} '
                             '(each from {} to {}) and average: cleaner speech for one more '
                             'separation each; 1 alone separates the mixture as it is only, '
                             'fastest (default: {})'.format(
                                 scope, *const.SPEED_VIEW_LIMITS,
                                 ' '.join(str(f) for f in const.SPEEDS)))


def main(argv=None):
    args = build_parser().parse_args(argv)
    piped = args.out == standard_streams.STREAM
    # None where stdout was closed at start (>&-): -o - is then refused
    args.audio_stdout = getattr(sys.stdout, 'buffer', None) if piped else None
    rank, size = mpi_world()
    if size > 1 and os.path.isdir(args.input):
        return separate_sharded(args, rank, size)
    if rank > 0:
        return 0        # one file under mpiexec: rank 0 separates it alone
    # the audio has stdout to itself: settings and summary go to stderr
    with contextlib.redirect_stdout(sys.stderr) if piped else contextlib.nullcontext():
        return cli.run(PROG, lambda: separate_main(args), debug=args.debug)


# --------------------------------------------------------------------------
# The job: plan the outputs, load the model, separate file after file

def separate_main(args, world=(0, 1), report=None):
    """Check the options, plan the outputs, load the model and run the plan.

    ``world``: ``(rank, size)`` under mpiexec, where this process takes files
    ``rank, rank + size, ...`` of the sorted plan and fills ``report`` for
    ``separate_sharded`` instead of printing a summary.
    """
    rank, size = world
    # every process of an mpiexec run checks the same options and inputs alike
    with cli.reported_by_rank_zero(rank):
        plan, files, skipped_rows, kept, separator = prepare(args, world)
    settings = [
        ('input', 'stdin' if args.input == standard_streams.STREAM else
         '{} ({} file{})'.format(args.input, files, cli.plural(files))),
        ('output', 'stdout ({})'.format(args.format or const.OUTPUT_FORMATS[0])
         if args.out == standard_streams.STREAM else args.out),
        ('model', args.model)] + separation_settings(args) + [
        ('rate', ('the input\'s' if args.sr == 'input' else '{} Hz'.format(args.sr or const.SR))
         + (', full band' if args.full_band else '')),
        ('music', 'removed' if not music_level_gain(args.music_level) else   # -inf: removed
         'kept {:g} dB down in the speech output'.format(-args.music_level)),
        ('clean speech', 'separated' if args.keep_clean is None else
         'written as it came in above {:g} dB speech to music, judged {}'.format(
             args.keep_clean, judged_per(args.passage))),
        ('music alone', 'separated' if args.gate_music is None else
         'written {} above {:g} dB music to speech, judged {}'.format(
             music_alone_written(args.music_level), args.gate_music,
             judged_per(args.passage))),
        ('channels', {None: 'one, their mean', 'mean': 'the input\'s, under their mean\'s mask',
                      'each': 'the input\'s, each separated by itself'}[args.keep_channels]),
        ('device', 'GPU {}'.format(args.gpu) if args.gpu >= 0 else 'CPU'),
        ('existing outputs', 'replaced' if args.overwrite else
         'kept, their inputs skipped' if args.skip_existing else 'refused')]
    if args.report:
        settings.append(('report', args.report))
    if args.passage_report:
        settings.append(('passage report', '{} (per {:g} s passage)'.format(
            args.passage_report, args.passage)))
    if size > 1:
        settings.append(('processes', '{}, taking the files in turn'.format(size)))
    if rank == 0:
        cli.print_settings(settings)
    return run_plan(plan, separator, args, report, skipped_rows, kept, rank)


def prepare(args, world):
    """Check the options, plan the outputs (this process's share of them
    under mpiexec, ``world``) and load the model: ``(plan, files,
    skipped_rows, kept, separator)``, ``files`` counting the whole plan."""
    if args.batch <= 0:
        raise cli.UserError('--batch {}: must be at least 1'.format(args.batch))
    if args.full_band and args.sr is None:
        args.sr = 'input'
    music_level_gain(args.music_level)
    for option, threshold, example in (('--keep-clean', args.keep_clean, 20),
                                       ('--gate-music', args.gate_music, 30)):
        if threshold is not None and not 0 < threshold < math.inf:
            raise cli.UserError('{} {:g}: must be a ratio above 0 dB, e.g. {}'.format(
                option, threshold, example))
    args.passage = passage_seconds(args.passage, args.keep_clean, args.gate_music,
                                   args.passage_report)
    check_patching(args)
    output_rate(args.sr, const.SR)
    plan = plan_outputs(args)
    for source, out, music in plan:
        if music and output_key(music) == output_key(out):   # links followed
            raise cli.UserError('--music-out {}: the same file as the speech output {}{}; '
                                'choose another'.format(music, out, case_only(music, out)))
        for option, path in (('-o', out), ('--music-out', music)):
            if path and path != standard_streams.STREAM and cli.is_one_of(path, [args.model]):
                raise cli.UserError('{} {}: is the model (-m {}); choose another file'.format(
                    option, path, args.model))
    cli.remove_stale_temporaries(path for _, out, music in plan for path in (out, music)
                                 if path and path != standard_streams.STREAM)
    if standard_streams.STREAM in (args.input, args.out):     # what pipes left in $TMPDIR
        standard_streams.remove_leftovers()
    files = len(plan)
    rank, size = world
    earlier, earlier_passages = {}, set()
    audio = [path for item in plan for path in item if path and path != standard_streams.STREAM]
    audio.append(args.model)       # the reports may not land on it either
    if args.report:
        earlier = separation_report.previous(args.report) if args.skip_existing else {}
        separation_report.check(args.report, args.overwrite or args.skip_existing, audio)
    if args.passage_report:
        if args.skip_existing:
            earlier_passages = passage_report.previous(args.passage_report, args.passage)
        passage_report.check(args.passage_report, args.overwrite or args.skip_existing, audio,
                             args.report)
    plan = plan[rank::size]     # shared out before skipping: each file has one owner
    skipped = []
    if args.skip_existing:
        plan, skipped = skip_separated(plan)
    skipped_rows = separation_report.skipped_rows(skipped, earlier)
    # the inputs left out whose rows an earlier --passage-report keeps
    kept = sorted(earlier_passages.intersection(source for source, _, _ in skipped))
    separator = load_separator(args.model, args.gpu, args.hard_mask, overlap=args.overlap,
                               batch=args.batch, shifts=args.shifts, length=args.patch_length,
                               level=args.level, speeds=args.speeds,
                               equalise=args.equalise)
    return plan, files, skipped_rows, kept, separator


def skip_separated(plan):
    """``(plan, skipped)``: the planned files whose outputs do not all
    exist yet, and those left out because they do."""
    done = [separated(*item) for item in plan]
    return ([item for item, d in zip(plan, done) if not d],
            [item for item, d in zip(plan, done) if d])


def separated(source, *outputs):
    """Whether every output of ``source`` is a file, none of them the input
    itself (that stays an error); stdout (``-``) never is."""
    outputs = [path for path in outputs if path]
    return all(path != standard_streams.STREAM and os.path.isfile(path)
               and (source == standard_streams.STREAM or not os.path.samefile(path, source))
               for path in outputs)


def plan_outputs(args):
    """``[(input, speech_output, music_output_or_None)]`` for this run;
    ``-`` for stdin or stdout."""
    stream = standard_streams.STREAM
    if args.music_out == stream:
        raise cli.UserError('--music-out -: only the speech can go to stdout; give the music '
                            'a file')
    if args.input != stream and not os.path.exists(args.input):
        raise cli.UserError('-i {}: no such file or folder'.format(args.input))
    if args.input != stream and stat.S_ISFIFO(os.stat(args.input).st_mode):
        raise cli.UserError('-i {}: is a pipe, not a file (a separation reads its input more '
                            'than once); give the pipe as stdin: ... | make_separate.py -i - '
                            '-o OUT'.format(args.input))
    for option, path in (('-o', args.out), ('--music-out', args.music_out)):
        if path and path != stream and not has_audio_extension(path) and \
                os.path.exists(path) and not os.path.isdir(path):
            raise cli.UserError('{} {}: is a file without an audio extension, so neither '
                                'an output file nor a folder; give a folder or a name '
                                'ending in {}'.format(option, path, util.WRITTEN_TYPES))
    if args.input != stream and os.path.isdir(args.input):
        if args.out == stream:
            raise cli.UserError('-o -: a folder gives many outputs; give a folder')
        return plan_folder(args)
    if args.out == stream:
        standard_streams.check_stdout(args.audio_stdout)
    name = 'stdin' if args.input == stream else util.stem(args.input)
    out = args.out
    if out != stream and not has_audio_extension(out):
        out = os.path.join(out, name + output_extension(args))
    music = args.music_out
    if music and not has_audio_extension(music):
        music = os.path.join(music, name + output_extension(args))
    for option, path in (('-o', out), ('--music-out', music)):
        if args.format and path and path != stream and \
                os.path.splitext(path)[1].lower() != output_extension(args):
            raise cli.UserError('{} {}: --format {} names another file type; give the file '
                                'a {} name or leave --format out'.format(
                                    option, path, args.format, output_extension(args)))
    return [(args.input, out, music)]


def output_extension(args):
    """The extension (``'.wav'``...) of the outputs the run names itself
    (``--format``)."""
    return '.' + (args.format or const.OUTPUT_FORMATS[0])


def plan_folder(args):
    for option, path in (('-o', args.out), ('--music-out', args.music_out)):
        if path and has_audio_extension(path):
            raise cli.UserError('{} {}: the input is a folder, so the output must be a '
                                'folder too'.format(option, path))
    outputs = [d for d in (args.out, args.music_out) if d]
    if os.path.realpath(args.input) in map(os.path.realpath, outputs):
        raise cli.UserError('-o {}: the output folder is the input folder; outputs would '
                            'replace the mixtures'.format(args.out))
    inputs = util.find_mixtures(args.input, outputs, const.READ_EXTENSIONS)
    if not inputs:
        references = [p for p in util.find_audio(args.input, const.READ_EXTENSIONS)
                      if util.stem(p).endswith(const.REFERENCE_TAGS)]
        if references:
            raise cli.UserError('-i {}: no mixtures in this folder, only references '
                                '(NAME.speech.*, NAME.music.*: {} files), which are not '
                                'separated'.format(args.input, len(references)))
        raise cli.UserError('-i {}: no audio files ({}) in this folder'.format(
            args.input, ', '.join(const.READ_EXTENSIONS)))
    plan, claimed = [], {}
    readable = {os.path.realpath(p) for p in inputs}
    stems = [os.path.splitext(os.path.relpath(p, args.input))[0] for p in inputs]
    folded = [folded_name(stem) for stem in stems]
    for path, relative in zip(inputs, stems):
        if folded.count(folded_name(relative)) > 1:    # a.wav, A.flac: a.wav.wav, A.flac.wav
            relative = os.path.relpath(path, args.input)
        relative += output_extension(args)
        out = os.path.join(args.out, relative)
        music = os.path.join(args.music_out, relative) if args.music_out else None
        for option, output in (('-o', out), ('--music-out', music)):
            # -o holding -i: pod/raw/raw/a.wav would be written to pod/raw/a.wav
            if output and os.path.realpath(output) in readable:
                raise cli.UserError('{} would be separated into {}, which is an input; '
                                    'choose another output folder'.format(path, output))
            if output:
                claim_output(claimed, output, path, option)
        plan.append((path, out, music))
    return plan


def claim_output(claimed, output, source, option):
    """Note in ``claimed`` (``{key: (source, option, output)}``) that
    ``source``'s ``option`` output (``-o``, ``--music-out``) is written to
    ``output``; ``cli.UserError`` where another input's output, speech or
    music, is already written there (``output_key``): a.wav and a.flac with
    a.wav.wav (a.wav.wav twice), in/a.wav and in/music/a.wav with
    ``--music-out OUT/music`` (the music of the first, the speech of the
    second), or A.wav and a.wav (out/A.wav, out/a.wav). One input's speech
    and music in one file is ``prepare``'s to refuse."""
    first, first_option, first_output = claimed.setdefault(
        output_key(output), (source, option, output))
    if first == source:
        return
    case_note = case_only(output, first_output)
    if case_note:
        raise cli.UserError('{} and {} would be separated into {} and {}{}; rename one of '
                            'them'.format(first, source, first_output, output, case_note))
    if first_option == option:
        raise cli.UserError('{} and {} would both be separated into {}; rename one of '
                            'them'.format(first, source, output))
    raise cli.UserError('{} and {} would both be written to {} (the {} output of the first, '
                        'the {} output of the second); rename one of them or choose '
                        'another --music-out folder'.format(
                            first, source, output, WHICH_OUTPUT[first_option],
                            WHICH_OUTPUT[option]))


WHICH_OUTPUT = {'-o': 'speech', '--music-out': 'music'}


def output_key(path):
    """``path`` as compared with other outputs: links resolved and the name
    folded (``folded_name``), so that names which differ only by case are
    one file on every file system, as they are on macOS's, Windows' and
    exFAT's (and outputs are copied from one file system to another)."""
    return folded_name(os.path.normcase(os.path.realpath(path)))


def folded_name(name):
    """``name`` in lower case and in Unicode's composed form (NFC): 'é' typed
    as one character or as 'e' and an accent is one name on macOS."""
    return unicodedata.normalize('NFC', name).lower()


def case_only(path, other):
    """A note for an error line where ``path`` and ``other`` are one output
    (``output_key``) only because case or Unicode form is ignored, else ''."""
    if os.path.normcase(os.path.realpath(path)) == os.path.normcase(os.path.realpath(other)):
        return ''
    return (', names that differ only by letter case or Unicode form, one file on '
            'macOS, Windows and exFAT')


def has_audio_extension(path):
    """Whether ``path`` names an audio file rather than a folder (an
    extension ffmpeg reads but libsndfile cannot write, ``-o speech.m4a``,
    is then refused as a format, not taken for a folder)."""
    return os.path.splitext(path)[1].lower() in const.READ_EXTENSIONS


def output_rate(sr_option, input_rate):
    """The output rate (Hz) for ``--sr`` ``sr_option`` (None: 16 kHz;
    'input': ``input_rate``; else Hz as text, from ``const.MIN_SAMPLE_RATE``
    to ``const.MAX_OUTPUT_RATE``, or ``cli.UserError``)."""
    if sr_option is None:
        return const.SR
    if sr_option == 'input':
        return input_rate
    try:
        rate = int(sr_option)
    except ValueError:
        rate = 0
    if rate <= 0:
        raise cli.UserError('--sr {}: expected a rate in Hz'.format(sr_option))
    if rate < const.MIN_SAMPLE_RATE:
        raise cli.UserError('--sr {}: below {} Hz, the lowest rate written'.format(
            sr_option, const.MIN_SAMPLE_RATE))
    if rate > const.MAX_OUTPUT_RATE:
        raise cli.UserError('--sr {}: above {} Hz, the highest rate written'.format(
            sr_option, const.MAX_OUTPUT_RATE))
    return rate


def run_plan(plan, separator, args, report=None, skipped_rows=(), kept=(), rank=0):
    """Separate every planned file; a failure is reported and skipped.

    ``skipped_rows``: --report rows of the files left out by
    --skip-existing (``separation_report.skipped_rows``), counted in the
    summary; ``kept``: those of their inputs whose rows the earlier
    --passage-report has. With a ``report`` dict (the share of process
    ``rank`` under mpiexec) the counts and rows go there for rank 0 to sum
    up and write, instead of being printed and written here. Either way
    the reports are kept when the run stops (an error that ends it,
    Ctrl-C), with the files done so far: written here, or left in
    ``report`` (the --report rows, and the file the --passage-report rows
    were spooled to).
    """
    failures, seconds, started = [], 0.0, time.time()
    gated = dict.fromkeys(GATED, 0)     # files and seconds written as they came in or silence
    rows = list(skipped_rows)
    single = report is None and not os.path.isdir(args.input)    # a file, or stdin
    spool = passage_report.Spool(args.passage_report, rank) if args.passage_report else None
    try:
        for source, out, music in tqdm(plan, desc='separating', unit='file',
                                       disable=True if single else None):
            levels = separation_report.Levels() if args.report or args.passage_report or \
                gating(args.keep_clean, args.gate_music) else None
            try:
                check_outputs(source, (out, music), args.overwrite, args.skip_existing)
                duration = separate_file(source, out, separator, music, args.sr,
                                         args.subtype, progress=single,
                                         full_band=args.full_band,
                                         keep_channels=args.keep_channels,
                                         stdout=args.audio_stdout,
                                         stdout_extension=output_extension(args),
                                         music_gain=music_level_gain(args.music_level),
                                         levels=levels, keep_clean=args.keep_clean,
                                         gate_music=args.gate_music, passage=args.passage,
                                         measure_passages=bool(args.passage_report))
            except cli.USER_ERRORS as err:
                rows.append(separation_report.row(source, out, music, 'failed', note=str(err)))
                if single or isinstance(err, util.OutputError):
                    raise               # one file, or the output folder or disk: stop
                tqdm.write('error: {}'.format(err), file=sys.stderr)
                failures.append(str(err))
            else:
                seconds += duration
                if levels is not None:
                    count_gated(gated, levels)
                rows.append(separation_report.row(source, out, music, 'separated', duration,
                                                  levels,
                                                  note=gated_note(levels, args.music_level)))
                if spool is not None and levels.spans is not None:
                    spool.add(passage_report.rows(
                        source, levels.spans,
                        turned_down=bool(music_level_gain(args.music_level))))
    finally:
        spools = []
        if spool is not None:
            spool.close()
            spools.append(spool.path)
        if report is not None:              # also when stopped: rank 0 writes them
            report.update(rows=rows, spools=spools, kept=list(kept))
        else:
            write_reports(args, rows, spools, kept)
    elapsed = time.time() - started
    if report is not None:
        report.update(files=len(plan), failures=failures, seconds=seconds, elapsed=elapsed,
                      skipped=len(skipped_rows), gated=gated)
        return cli.EXIT_ERROR if failures else 0
    return print_summary(len(plan), failures, seconds, elapsed, args.out, len(skipped_rows),
                         gated, args.music_level)


def write_reports(args, rows, spools=(), kept=()):
    """Write the --report and the --passage-report asked for: the files
    with ``rows`` (``separation_report.row``); the passages spooled to the
    files ``spools`` and those the earlier passage report has of the
    inputs ``kept`` (``passage_report.write``, which replaces the spools
    runs stopped before they wrote the report left where this run keeps or
    replaces what it had: --skip-existing, --overwrite)."""
    if args.report:
        separation_report.write(args.report, rows)
    if args.passage_report:
        passage_report.write(args.passage_report, spools, kept,
                             replaced=args.overwrite or args.skip_existing)


def gating(keep_clean, gate_music):
    """Whether any passage or file may be written other than separated:
    either threshold (--keep-clean, --gate-music) given."""
    return keep_clean is not None or gate_music is not None


def judged_per(passage):
    """The settings line's words for --passage ``passage`` (seconds, or
    None for the whole file)."""
    return 'per file' if passage is None else 'per {:g} s passage'.format(passage)


# the summary's tallies of gated audio (--keep-clean, --gate-music)
GATED = ('clean files', 'clean seconds', 'music files', 'music seconds')


def count_gated(gated, levels):
    """Add a separated file's ``levels`` to the tallies ``gated``
    (``GATED``)."""
    gated['clean files'] += levels.whole == passage_gate.CLEAN
    gated['clean seconds'] += levels.kept
    gated['music files'] += levels.whole == passage_gate.MUSIC
    gated['music seconds'] += levels.silenced


def gated_note(levels, music_level=None):
    """The --report note of a file separated with ``levels``: whether it,
    or some of its passages, were written as they came in (--keep-clean)
    or as music alone is with ``music_level`` (--gate-music,
    ``music_alone_written``)."""
    if levels is None:
        return ''
    if levels.whole == passage_gate.CLEAN:
        return KEPT_NOTE
    written = music_alone_written(music_level, options=True)
    if levels.whole == passage_gate.MUSIC:
        return MUSIC_NOTE.format(written)
    notes = []
    if levels.kept:
        notes.append(PASSAGES_NOTE.format(levels.passages[0], levels.passages[2], levels.kept))
    if levels.silenced:
        notes.append(MUSIC_PASSAGES_NOTE.format(levels.passages[1], levels.passages[2],
                                                levels.silenced, written))
    return '; '.join(notes)


def music_alone_written(music_level, options=False):
    """How --gate-music writes music alone into the speech output, in the
    settings', the summary's and the --report's words: 'as silence', or
    with --music-level ``music_level`` (dB) the mixture turned down as the
    music under the voice is ('15 dB down'); ``options``: followed by the
    options that say so ('(--gate-music, --music-level)')."""
    if not music_level_gain(music_level):       # None, -inf: the music removed
        return SILENCED + (' (--gate-music)' if options else '')
    return '{:g} dB down'.format(-music_level) + (
        ' (--gate-music, --music-level)' if options else '')


def check_outputs(source, outputs, overwrite, skip_existing=False):
    """Refuse to write over the input, over an existing file without
    --overwrite, or to a name too long for the file system
    (``check_name_length``); make the output folders. ``outputs``: ``(speech, music)``
    paths (``-o``, ``--music-out``; None where not written). A folder that cannot be made or
    written to raises ``util.OutputError``, which stops a folder run.

    ``skip_existing``: the files whose outputs all exist are already out of
    the plan, so one that exists here has a partner that does not (a run
    stopped between the two, or --music-out added since).
    """
    for option, out in zip(('-o', '--music-out'), outputs):
        if out and out != standard_streams.STREAM and source != standard_streams.STREAM \
                and os.path.exists(out) and os.path.samefile(out, source):
            raise cli.UserError('{}: the output is the input file; choose another '
                                '{}'.format(out, option))
    outputs = [path for path in outputs if path and path != standard_streams.STREAM]
    present = [path for path in outputs if os.path.exists(path)]
    if skip_existing and present and len(present) < len(outputs):
        missing = [path for path in outputs if path not in present]
        raise cli.UserError('{}: {} exists but {} does not; use --overwrite to separate it '
                            'again'.format(source, present[0], missing[0]))
    for out in outputs:
        check_name_length(out)
        util.output_format(out)
        cli.prepare_output(out, overwrite)


def check_name_length(path):
    """``cli.UserError`` where the file name of output ``path`` passes the
    ``const.NAME_MAX`` bytes a file system allows (a 248-character stem
    given as a.flac and a.wav: a.flac.wav), before the work on its input,
    not as the renaming fails after it (which stopped a folder run)."""
    size = len(os.fsencode(os.path.basename(path)))
    if size > const.NAME_MAX:
        raise cli.UserError('{}: its name has {} bytes, more than the {} a file name may '
                            'have; rename the input, or give -o or --music-out a shorter '
                            'file name'.format(path, size, const.NAME_MAX))


def print_summary(files, failures, seconds, elapsed, out, skipped=0, gated=None,
                  music_level=None):
    """The closing lines: files done, speed, and each failure; the exit status.

    ``files``: files planned, not counting the ``skipped`` ones whose
    outputs existed (--skip-existing). ``seconds``: audio separated (summed
    over processes); ``elapsed``: wall time (the slowest process). The
    real-time factor ``elapsed / seconds`` is left out when no audio was
    separated. ``gated``: the tallies of ``count_gated``, the files written
    whole and the seconds in all, as they came in (--keep-clean) and as
    silence (--gate-music), or turned down with ``music_level``
    (--music-level, ``music_alone_written``).
    """
    if skipped and not files:
        print('nothing to separate: the outputs of all {} file{} exist in {} '
              '(--skip-existing)'.format(skipped, cli.plural(skipped), out))
        return 0
    done = files - len(failures)
    speed = ', real-time factor {:.3f}'.format(elapsed / seconds) if seconds > 0 else ''
    gated = gated or dict.fromkeys(GATED, 0)
    also = ''
    for kind, written in (('clean', 'clean speech written as it came in'),
                          ('music', 'music alone written ' +
                           music_alone_written(music_level))):
        files_whole = gated[kind + ' files']
        if gated[kind + ' seconds']:
            also += '; {:.1f} s of {}, {} file{} whole'.format(
                gated[kind + ' seconds'], written, files_whole, cli.plural(files_whole))
    also += '; skipped {} whose outputs exist'.format(skipped) if skipped else ''
    print('separated {} of {} file{} ({:.1f} s of audio in {:.1f} s{}) into {}{}'.format(
        done, files, cli.plural(files), seconds, elapsed, speed,
        'stdout' if out == standard_streams.STREAM else out, also))
    return cli.print_failures(failures)


# --------------------------------------------------------------------------
# Under mpiexec: a folder shared out among the processes

# (rank, size) variables set by the launchers: MPICH (Hydra), Open MPI.
MPI_ENVIRONMENT = (('PMI_RANK', 'PMI_SIZE'),
                   ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE'))


def mpi_world(environ=None):
    """``(rank, size)`` of this process when mpiexec started it, else ``(0, 1)``.

    Read from the launcher's environment, so that mpi4py is imported only
    when there is something to talk to.
    """
    environ = os.environ if environ is None else environ
    for rank_name, size_name in MPI_ENVIRONMENT:
        try:
            rank, size = int(environ[rank_name]), int(environ[size_name])
        except (KeyError, ValueError):
            continue
        if 0 <= rank < size:
            return rank, size
    return 0, 1


def separate_sharded(args, rank, size):
    """A folder run as process ``rank`` of ``size``; returns the exit status.

    Each process separates files ``rank, rank + size, ...`` of the sorted
    plan and writes their outputs itself, so every file is separated once.
    Rank 0 then prints one summary of all processes (gathered over MPI),
    writes the --report of every file any of them got to (also after a
    Ctrl-C), and every process exits non-zero if any of them failed.
    """
    try:
        from mpi4py import MPI
    except ImportError:
        print('{}: error: started by mpiexec ({} processes) but mpi4py is not '
              'installed; run `make mpi`'.format(PROG, size), file=sys.stderr)
        return cli.EXIT_ERROR
    comm = MPI.COMM_WORLD
    if comm.Get_size() != size:
        print('{}: error: mpiexec started {} processes but mpi4py sees {}: they come '
              'from different MPI installations; use the mpiexec of the MPI mpi4py was '
              'built for (.venv/bin/mpiexec after `make mpi`)'.format(
                  PROG, size, comm.Get_size()), file=sys.stderr)
        return cli.EXIT_ERROR
    report = {}
    try:
        status = cli.run('{} [rank {}]'.format(PROG, rank),
                         lambda: separate_main(args, (rank, size), report), debug=args.debug)
    except BaseException:
        # A bug, or --debug: stop every process rather than leave the
        # others waiting for this one in gather.
        traceback.print_exc()
        sys.stderr.flush()
        comm.Abort(cli.EXIT_ERROR)
    reports = comm.gather((status, report), root=0)
    if rank == 0:
        status = max(s for s, _ in reports)
        done = [r for _, r in reports if 'files' in r]      # ran their plan to the end
        if done:
            print_summary(sum(r['files'] for r in done), sum((r['failures'] for r in done), []),
                          sum(r['seconds'] for r in done), max(r['elapsed'] for r in done),
                          args.out, sum(r['skipped'] for r in done),
                          {key: sum(r['gated'][key] for r in done) for key in GATED},
                          args.music_level)
        started = [r for _, r in reports if 'rows' in r]    # got to their plan
        if started:
            write_reports(args, sum((r['rows'] for r in started), []),
                          sum((r['spools'] for r in started), []),
                          sum((r['kept'] for r in started), []))
        if started and len(done) < len(reports):    # else the options or inputs failed
            print('{} of {} processes stopped before the end of their files (errors '
                  'above)'.format(len(reports) - len(done), len(reports)), file=sys.stderr)
    return comm.bcast(status, root=0)


# --------------------------------------------------------------------------
# One file: read in blocks, separate, write

def music_level_gain(level_db):
    """The music's amplitude factor in the speech output for
    ``--music-level`` ``level_db`` (dB, below 0; ``None``: removed, 0).
    Raises ``cli.UserError`` for a level of 0 dB or more, or NaN."""
    if level_db is None:
        return 0.0
    if not level_db < 0:
        raise cli.UserError('--music-level {:g}: must be below 0 dB (how far the music is '
                            'turned down); leave it out to remove the music'.format(level_db))
    return float(10.0 ** (level_db / 20.0))


def passage_seconds(value, keep_clean, gate_music, report=None):
    """Seconds per passage that ``--keep-clean`` and ``--gate-music`` judge
    and ``--passage-report`` ``report`` measures, for ``--passage``
    ``value`` (text; None: the default), or None for the whole file
    (``const.WHOLE_FILE_PASSAGE``). Raises ``cli.UserError`` for a value
    that is not a finite number of seconds from ``const.PASSAGE_MIN_S``,
    one given with neither threshold nor report, or the whole file with a
    report."""
    if value is None:
        return const.PASSAGE_S
    if not gating(keep_clean, gate_music) and not report:
        raise cli.UserError('--passage {}: only applies with --keep-clean DB, --gate-music '
                            'DB or --passage-report CSV'.format(value))
    if value == const.WHOLE_FILE_PASSAGE:
        if report:
            raise cli.UserError('--passage {}: --passage-report needs passages of seconds; '
                                '--report CSV gives a row per file'.format(value))
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not const.PASSAGE_MIN_S <= seconds < math.inf:
        raise cli.UserError('--passage {}: must be seconds, at least {:g} (shorter passages '
                            'are judged on too little), or "{}"'.format(
                                value, const.PASSAGE_MIN_S, const.WHOLE_FILE_PASSAGE))
    return seconds


def separate_file(path, out_path, separator, music_path=None, sr=None, subtype=None,
                  progress=False, full_band=False, keep_channels=False, stdout=None,
                  music_gain=0.0, levels=None, keep_clean=None, gate_music=None,
                  passage=const.PASSAGE_S, stdout_extension='.wav', measure_passages=False):
    """Separate one file (``separate_readable``); returns its duration in
    seconds. A file libsndfile cannot read (m4a, mp4, mkv...) is first
    decoded by ffmpeg into a temporary wav beside ``out_path``
    (``decoding.readable``). ``path`` ``-`` reads stdin and ``out_path``
    ``-`` writes to ``stdout`` (a binary stream; default: stdout's) a file
    of ``stdout_extension``'s type, both through temporary files
    (``standard_streams``)."""
    folder = standard_streams.work_folder(out_path)
    with contextlib.ExitStack() as stack:
        name, source = os.path.basename(path), path
        if path == standard_streams.STREAM:
            name, source = 'stdin', stack.enter_context(standard_streams.spooled_stdin(out_path))
        if out_path == standard_streams.STREAM:
            out_path = stack.enter_context(standard_streams.stdout_file(stdout,
                                                                        stdout_extension))
        readable = stack.enter_context(decoding.readable(
            source, folder, sniff=path == standard_streams.STREAM))
        return separate_readable(readable, out_path, separator, music_path, sr, subtype,
                                 progress, full_band, keep_channels, name=name,
                                 music_gain=music_gain, levels=levels,
                                 keep_clean=keep_clean, gate_music=gate_music,
                                 passage=passage, measure_passages=measure_passages,
                                 decoded_from=None if readable == source else source)


def separate_readable(path, out_path, separator, music_path=None, sr=None, subtype=None,
                      progress=False, full_band=False, keep_channels=False, name=None,
                      music_gain=0.0, levels=None, keep_clean=None, gate_music=None,
                      passage=const.PASSAGE_S, measure_passages=False, decoded_from=None):
    """Separate one file libsndfile reads; returns its duration in seconds.

    ``sr``: ``None`` for 16 kHz, ``'input'`` for the input's rate, or Hz.
    ``full_band``: the band above the 16 kHz separation comes from the
    input (``high_band.FullBand``) instead of staying empty.
    ``keep_channels``: 'mean' (or True), each of the input's channels
    separated under the mask of their mean (``channels.ChannelSplit``), or
    'each', each channel separated by itself (``each_channel_parts``),
    instead of the mean alone.
    ``music_gain``: the music's amplitude factor in the speech output
    (``--music-level``; 0: removed), ``music_path`` getting it whole.
    ``levels``: a ``separation_report.Levels`` that adds up the energies of
    the speech and music estimates as written (before ``music_gain``).
    ``keep_clean``: where the estimates' speech-to-music ratio is above
    this (dB), the mixture is written as it came in, at the output's rate
    and channels, and the music as silence (``--keep-clean``);
    ``gate_music``: where it is below minus this, the speech as silence and
    the music as the mixture (``--gate-music``); both judged in passages of
    ``passage`` seconds (``passage_gate.PassageGate``), or with None over
    the whole file. ``levels`` (made here if None) then has ``whole`` the
    kind the whole file was written as (``passage_gate.CLEAN`` or
    ``MUSIC``; None: not all of it one), ``kept`` and ``silenced`` the
    seconds written as they came in and as silence, and ``passages``
    ``(clean, music, all)``.
    An output of no ``subtype`` in FLAC, AIFF, CAF or AU is 24-bit where
    the input is deeper than 16 bits: ``path``'s subtype, or where ffmpeg
    decoded ``path`` from the file ``decoded_from``, that file's as its
    header gives it (None where libsndfile cannot read the header, an m4a
    say: ffmpeg's float samples say nothing of the original's depth).
    ``measure_passages``: ``levels`` (made here if None) also gets
    ``spans``, each passage's bounds, energies and kind
    (``passage_report.spans``), also with neither threshold
    (``--passage-report``); ``passage`` must then be seconds.
    Outputs are renamed into place only when complete; one the format
    cannot hold (rate, length), or whose disk has less space free than its
    float samples take (``util.check_free_space``), is refused before any
    work. ``name``: the
    progress bar's label (default: the file's name).
    """
    info = util.audio_info(path)
    if info.frames == 0:
        raise util.AudioError('{}: holds no samples'.format(path))
    source = info.subtype if decoded_from is None else util.header_subtype(decoded_from)
    rate = output_rate(sr, info.samplerate)
    channels = info.channels if keep_channels else 1
    n16 = util.resampled_length(info.frames, info.samplerate, const.SR)
    n_out = info.frames if rate == info.samplerate else \
        util.resampled_length(info.frames, info.samplerate, rate)
    for output in (out_path, music_path):
        if output:
            plan_output(output, rate, n_out, subtype, channels, source)

    # the sinks take 16 kHz estimates, or full-band ones already at the output rate
    parts_rate, n_parts = (rate, n_out) if full_band else (const.SR, n16)
    judging = gating(keep_clean, gate_music)
    if measure_passages and passage is None:
        raise ValueError('passages are measured in seconds, not the whole file')
    if (judging or measure_passages) and levels is None:
        levels = separation_report.Levels()
    whole_file = judging and passage is None
    # speech and music; judged per file also the mixture for each output that
    # could be published instead of its estimate (the other one then silence,
    # or with --music-level for the speech the mixture turned down: the music bed)
    wanted = [('speech', out_path), ('music', music_path)]
    if whole_file and keep_clean is not None:
        wanted.append(('mixture', out_path))
    if whole_file and gate_music is not None:
        wanted.append(('mixture as music', music_path))
        if music_gain:
            wanted.append(('music bed', out_path))
    util.check_free_space([(output, n_out * channels * const.SINK_SAMPLE_BYTES)
                           for _, output in wanted if output])
    sinks, bar = {}, None

    def sink(role, output):
        sinks[role] = AudioSink(output, rate, n_parts, n_out, subtype, parts_rate, channels,
                                variant='' if role in ('speech', 'music') else
                                '.' + role.replace(' ', '-'), source=source)
        return sinks[role]
    try:
        for role, output in wanted:
            if output:
                sink(role, output)
        bar = tqdm(total=round(n_parts / parts_rate, 1), unit='s',
                   desc=name or os.path.basename(path),
                   disable=None if progress else True, leave=False)   # None: off unless a TTY
        if channels > 1 and keep_channels == 'each':
            parts = each_channel_parts(separator, path, n16, channels)
        else:
            scale = normalisation(peak_magnitude(util.stream_audio(path)))
            parts = separator.stream(util.stream_audio(path), n16, scale)
            if channels > 1:
                parts = channel_parts(parts, path, n16, channels)
        if full_band:
            parts = full_band_parts(parts, path, info, rate, n16, channels,
                                    gain_per_channel=keep_channels == 'each')
        gate = None
        if passage is not None and (judging or measure_passages):
            gate = passage_gate.PassageGate(keep_clean, gate_music,
                                            round(passage * parts_rate),
                                            round(const.PASSAGE_FADE_S * parts_rate))
            parts = gate.gated(parts)   # clean: the mixture, no music; music: silence
        elif levels is not None:        # (with a gate, its passages' energies add up to them)
            parts = levels.counted(parts)
        done = 0                        # samples of the parts written
        for speech, music in parts:
            for role in ('mixture', 'mixture as music'):
                if role in sinks:
                    sinks[role].write(speech + music)
            if 'music bed' in sinks:
                sinks['music bed'].write(music_gain * (speech + music))
            sinks['speech'].write(speech + music_gain * music if music_gain else speech)
            if 'music' in sinks:
                sinks['music'].write(music)
            done += len(speech)         # seconds to 0.1 from a count, not a sum of them
            bar.n = round(done / parts_rate, 1)
            bar.refresh()
        kind = passage_gate.SEPARATED
        if whole_file:
            kind = passage_gate.judge(levels.speech, levels.music, keep_clean, gate_music)
            levels.whole = None if kind == passage_gate.SEPARATED else kind
            levels.kept = n_parts / parts_rate if kind == passage_gate.CLEAN else 0.0
            levels.silenced = n_parts / parts_rate if kind == passage_gate.MUSIC else 0.0
        elif gate is not None:
            levels.add(gate.energies)
            for judged in (passage_gate.CLEAN, passage_gate.MUSIC):
                if 0 < gate.count(judged) == gate.passages:
                    levels.whole = judged
            levels.kept, levels.silenced = gate.kept / parts_rate, gate.silenced / parts_rate
            levels.passages = (gate.count(passage_gate.CLEAN), gate.count(passage_gate.MUSIC),
                               gate.passages)
            if measure_passages:
                levels.spans = passage_report.spans(gate, parts_rate)
        # the outputs' sinks: (speech, music) as separated, or as the whole file was judged
        roles = {passage_gate.SEPARATED: ('speech', 'music'),
                 passage_gate.CLEAN: ('mixture', 'silence'),
                 passage_gate.MUSIC: ('music bed' if 'music bed' in sinks else 'silence',
                                      'mixture as music')}[kind]
        silent = {passage_gate.CLEAN: music_path, passage_gate.MUSIC: out_path}.get(kind)
        if silent and 'silence' in roles:
            write_silence(sink('silence', silent), n_parts, parts_rate, channels)
        chosen = [sinks[role] for role in roles if role in sinks]
        for sink in chosen:
            with util.writing(sink.path):
                sink.flush()
        # speech and music scaled alike where one must be (an integer format
        # past full scale), so that they still add up to the mixture
        shared = min(util.integer_gain(sink.subtype, sink.peak) for sink in chosen)
        for sink in chosen:            # both outputs complete before either is renamed
            with util.writing(sink.path):
                sink.finalize(shared, [other.path for other in chosen if other is not sink])
        for sink in chosen:
            with util.writing(sink.path):
                sink.publish()
    finally:
        if bar is not None:
            bar.close()
        for sink in sinks.values():
            sink.discard()
    return info.frames / info.samplerate


def write_silence(sink, samples, rate, channels):
    """Write ``samples`` of silence at ``rate`` Hz (``channels`` > 1:
    ``(samples, channels)`` blocks) into ``sink``, a block at a time."""
    block = int(const.BLOCK_SECONDS * rate)
    for start in range(0, samples, block):
        sink.write(np.zeros((min(block, samples - start),)
                            + ((channels,) if channels > 1 else ()), np.float32))


def channel_parts(parts, path, n16, channels):
    """The separator's 16 kHz ``(speech, music)`` ``parts`` of the mean of
    ``path``'s ``channels`` as ``(samples, channels)`` parts
    (``channels.ChannelSplit``), its flushed tail last."""
    split = channels_module.ChannelSplit(util.stream_audio(path, mix=False), n16, channels)
    for speech, music in parts:
        yield split.push(speech, music)
    empty = np.zeros(0, np.float32)
    yield split.push(empty, empty, last=True)


def each_channel_parts(separator, path, n16, channels):
    """``(speech, music)`` parts of shape ``(samples, channels)``, every one
    of ``path``'s ``channels`` separated by itself at 16 kHz (``n16``
    samples), with its own peak scale: ``--keep-channels each``."""
    def column(c):
        return (block[:, c] for block in util.stream_audio(path, mix=False))
    streams = [separator.stream(column(c), n16, normalisation(peak_magnitude(column(c))))
               for c in range(channels)]
    queues = [([], []) for _ in streams]          # (speech, music) of each channel
    for outputs in itertools.zip_longest(*streams):
        for queue, output in zip(queues, outputs):
            if output is not None:
                queue[0].append(output[0])
                queue[1].append(output[1])
        ready = min(util.queued_samples(queue[0]) for queue in queues)
        if ready:
            yield tuple(np.stack([util.take_samples(queue[k], ready) for queue in queues], axis=1)
                        for k in (0, 1))


def full_band_parts(parts, path, info, rate, n16, channels=1, gain_per_channel=False):
    """The separator's 16 kHz ``(speech, music)`` ``parts`` of ``path``
    (``info``: its ``util.audio_info``; ``(samples, channels)`` parts when
    ``channels`` > 1) as full-band parts at ``rate`` Hz
    (``high_band.FullBand``, ``gain_per_channel`` as there); the last part
    is followed by the estimates' flushed tail."""
    block_frames = max(1, int(const.BLOCK_SECONDS * info.samplerate))
    kept = channels if channels > 1 else None
    band = high_band.FullBand(util.read_blocks(path, block_frames, mix=kept is None),
                              info.samplerate, info.frames, rate, n16, kept,
                              gain_per_channel)
    for speech, music in parts:
        yield band.push(speech, music)
    empty = np.zeros((0,) + (() if kept is None else (kept,)), np.float32)
    yield band.push(empty, empty, last=True)


def plan_output(path, rate, n_out, subtype=None, channels=1, source=None):
    """``(format, subtype, container)`` of an output of ``n_out`` samples of
    ``channels`` at ``rate`` Hz, checked before any work (``subtype`` None:
    ``util.default_subtype``, which follows ``source``, the input's
    subtype, to 24 bits): the subtype must
    suit the format, the format must hold the rate and the channels, and
    the container (RF64 for a wav past 4 GiB, ``util.container_for``) the
    length. Raises ``cli.UserError`` or ``util.AudioError`` naming the
    problem."""
    fmt = util.output_format(path)
    subtype = (subtype or util.default_subtype(fmt, path, source)).upper()
    if not sf.check_format(fmt, subtype):
        raise cli.UserError('--subtype {}: not available for {} files'.format(subtype, fmt))
    if path.lower().endswith('.opus') and subtype != 'OPUS':
        raise cli.UserError('--subtype {}: a .opus file holds Opus; name the file .ogg for '
                            '{}'.format(subtype, subtype))
    util.check_output_rate(path, fmt, subtype, rate)
    if not util.keeps_length(fmt, subtype, rate):
        raise cli.UserError('--subtype {}: {} files of it come back longer than written '
                            '(padded to whole blocks), so the output would not be as long '
                            'as the input; choose another'.format(subtype, fmt))
    most = const.MAX_CHANNELS.get(fmt)
    if most is not None and channels > most:
        raise util.AudioError('{}: {} files hold at most {} channels, not {}; write .wav '
                              'or drop --keep-channels'.format(path, fmt, most, channels))
    return fmt, subtype, util.container_for(path, fmt, subtype, n_out * channels)


class AudioSink:
    """Writes a 16 kHz stream (or one at ``in_rate`` Hz) to ``path`` at
    ``rate`` Hz, exactly ``n_out`` samples, through a hidden temporary file
    that ``finalize()`` completes after the last ``write()`` and
    ``publish()`` renames into place; ``discard()`` removes what is left.
    Integer formats are scaled down rather than clipped if the estimate
    peaks beyond full scale. The temporary file is a float wav, RF64 past
    4 GiB (``plan_output``). ``variant``: added to the temporary file's
    name, so that two sinks can stand ready for one ``path``."""

    def __init__(self, path, rate, n_in, n_out, subtype=None, in_rate=const.SR, channels=1,
                 variant='', source=None):
        self.path = path
        self.rate = rate
        self.n_out = n_out
        self.format, self.subtype, self.container = plan_output(path, rate, n_out, subtype,
                                                                channels, source)
        self.resampler = util.Resampler(in_rate, rate, n_in,
                                        channels if channels > 1 else None)
        self.resampler.n_out = n_out
        self.tmp = util.temporary_path(path + variant)
        self.peak = 0.0
        self.ready = None           # the finished temporary file, once finalize() ran
        with util.writing(path):
            self._file = util.open_for_writing(
                self.tmp, rate, 'FLOAT',
                util.container_for(path, 'WAV', 'FLOAT', n_out * channels), channels)

    def write(self, samples):
        self._store(self.resampler.process(samples))

    def _store(self, out):
        if not np.all(np.isfinite(out)):
            raise util.AudioError('{}: the estimate is not finite; not written'.format(self.path))
        if len(out):
            self.peak = max(self.peak, float(np.max(np.abs(out))))
            with util.writing(self.path):
                util.write_samples(self._file, out)

    def flush(self):
        """Flush the resampler (the file then holds exactly ``n_out``
        samples, and ``peak`` is the whole file's) and close the stream;
        once."""
        if self._file.closed:
            return
        self._store(self.resampler.finish())
        self._file.close()
        written = sf.info(util.sf_path(self.tmp)).frames
        if written != self.n_out:
            raise util.OutputError('{}: the file holds {} of its {} samples; not '
                                   'written'.format(self.path, written, self.n_out))

    def finalize(self, gain, others=()):
        """``flush()``, and convert the stream to the output format, still
        under a temporary name; ``publish()`` then renames it into place.
        ``gain``: the scale for its samples, ``util.integer_gain``'s (1
        unless an integer format would clip) or lower where the files
        ``others`` written beside it needed it."""
        self.flush()
        own = util.integer_gain(self.subtype, self.peak)     # to say why it is scaled
        if self.format == 'WAV' and self.subtype == 'FLOAT' and gain == 1.0:
            self.ready = self.tmp
            return
        final_tmp = self.tmp + util.FINAL_SUFFIX
        try:
            with sf.SoundFile(util.sf_path(self.tmp)) as source, \
                    util.open_for_writing(final_tmp, self.rate, self.subtype,
                                          self.container, source.channels) as target:
                for block in source.blocks(blocksize=int(const.BLOCK_SECONDS * self.rate)):
                    util.write_samples(target, block * gain)
        except BaseException:
            if os.path.exists(final_tmp):
                os.remove(final_tmp)
            raise
        finally:
            os.remove(self.tmp)
        self.ready = final_tmp
        if gain != 1.0:
            why = ('to fit {}'.format(self.subtype) if gain == own else
                   'as {} was, so that they still add up to the mixture'.format(
                       ' and '.join(util.shown_name(other) for other in others)))
            change = 20 * np.log10(gain)
            tqdm.write('note: {} peaked at {:.2f}; scaled by {} {}'.format(
                util.shown_name(self.path), self.peak, '{:.1f} dB'.format(change)
                if change <= -0.05 else 'less than 0.1 dB', why), file=sys.stderr)

    def publish(self):
        os.replace(self.ready, self.path)
        self.ready = None

    def discard(self):
        if not self._file.closed:
            self._file.close()
        for leftover in (self.tmp, self.ready):
            if leftover and os.path.isfile(leftover):
                os.remove(leftover)


# --------------------------------------------------------------------------
# The separator

def separation_settings(args):
    """``[(name, text)]`` of the mask, shifts and patching in ``args``, as
    printed by make_separate.py and evaluate.py."""
    speeds = [f for f in args.speeds if f != 1.0]
    return [('mask', '{}, {} shift{}, speed views: {}'.format(
                'hard' if args.hard_mask else 'soft', args.shifts, cli.plural(args.shifts),
                ' '.join('{:g}'.format(f) for f in speeds) if speeds else 'none')),
            ('patches', '{} frames, {} shared, level: {}, equalise: {}'.format(
                args.patch_length, args.overlap, args.level, args.equalise))]


def check_patching(args):
    """One line for a ``--patch-length``, ``--overlap`` or ``--shifts`` out of
    range; an ``--overlap`` not given becomes ``const.PATCH_OVERLAP``, or half
    the patch where that is less (``--patch-length 64`` alone shares 32)."""
    length = args.patch_length
    if not (0 < length <= const.MAX_PATCH_LENGTH and length % const.PATCH_MULTIPLE == 0):
        raise cli.UserError('--patch-length {}: must be a multiple of {} from {} to {} '
                            'frames'.format(length, const.PATCH_MULTIPLE, const.PATCH_MULTIPLE,
                                            const.MAX_PATCH_LENGTH))
    if args.overlap is None:
        args.overlap = min(const.PATCH_OVERLAP, length // 2)
    cli.check_range('--overlap', args.overlap, 0, length - 1)
    cli.check_range('--shifts', args.shifts, 1, const.MAX_SHIFTS)
    if len(args.speeds) > const.MAX_SPEED_VIEWS:
        raise cli.UserError('--speeds: at most {} factors, got {}'.format(
            const.MAX_SPEED_VIEWS, len(args.speeds)))
    for factor in args.speeds:
        if not const.SPEED_VIEW_LIMITS[0] <= factor <= const.SPEED_VIEW_LIMITS[1]:
            raise cli.UserError('--speeds {:g}: must be from {} to {}'.format(
                factor, *const.SPEED_VIEW_LIMITS))


def load_separator(model_path, gpu=-1, hard_mask=False, overlap=None,
                   batch=const.SEPARATE_BATCH, shifts=const.SHIFTS, length=const.PATCH_LENGTH,
                   level=const.LEVELS[0], speeds=const.SPEEDS, equalise=const.EQUALISE[0]):
    """The ``Separator`` of the U-Net in ``model_path`` (model or trainer
    snapshot) on GPU ``gpu``, or the CPU for ``gpu < 0`` (``cli.get_device``);
    patches of ``length`` frames sharing ``overlap`` (None: as the CLI's
    ``--overlap``, ``const.PATCH_OVERLAP`` or half the patch where that is
    less), each levelled by ``levelled`` when ``level`` is 'patch' and,
    before that, raised towards the training mixtures' shape by
    ``equalising.equalised`` when ``equalise`` is 'boost'; ``shifts`` and
    ``speeds`` as ``Separator``. A setting the CLI would refuse raises
    ``ValueError`` naming it."""
    overlap = api_settings(gpu, overlap, batch, shifts, length, level, speeds, equalise)
    if not isinstance(hard_mask, (bool, np.bool_)):
        raise ValueError('hard_mask={!r}: must be True or False'.format(hard_mask))
    hard_mask = bool(hard_mask)
    device = cli.get_device(gpu)
    unet = network.load_unet(model_path).to_device(device)
    mask_fn = fed_as_separation_feeds(network_mask_fn(unet, device), level, equalise)
    return Separator(mask_fn, hard_mask=hard_mask, overlap=overlap,
                     batch=batch, length=length, shifts=shifts, speeds=speeds)


API_NAMES = {'--patch-length': 'length', '--overlap': 'overlap', '--shifts': 'shifts',
             '--speeds': 'speeds'}


def api_settings(gpu, overlap, batch, shifts, length, level, speeds, equalise):
    """``load_separator``'s settings checked as the CLI checks its options
    (``check_patching``), a ``ValueError`` naming the keyword where one is
    out of range or of the wrong kind; returns the overlap to use."""
    for name, value in (('gpu', gpu), ('batch', batch), ('shifts', shifts), ('length', length)) + \
            ((('overlap', overlap),) if overlap is not None else ()):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError('{}={!r}: must be a whole number'.format(name, value))
    if batch < 1:
        raise ValueError('batch={}: must be at least 1'.format(batch))
    for name, value, allowed in (('level', level, const.LEVELS),
                                 ('equalise', equalise, const.EQUALISE)):
        if value not in allowed:
            raise ValueError('{}={!r}: must be one of {}'.format(
                name, value, ', '.join(repr(a) for a in allowed)))
    try:
        factors = [float(f) for f in speeds]
    except (TypeError, ValueError):
        raise ValueError('speeds={!r}: give a sequence of factors, e.g. (0.95, 1.05)'.format(
            speeds)) from None
    settings = argparse.Namespace(patch_length=length, overlap=overlap, shifts=shifts,
                                  speeds=factors)
    try:
        check_patching(settings)
    except cli.UserError as err:
        option, rest = str(err).split(' ', 1)      # '--shifts 0: ...', '--speeds: ...'
        name = API_NAMES.get(option.rstrip(':'), option)
        raise ValueError('{}: {}'.format(name, rest) if option.endswith(':') else
                         '{}={}'.format(name, rest)) from None
    return settings.overlap


def fed_as_separation_feeds(mask_fn, level=const.LEVELS[0], equalise=const.EQUALISE[0]):
    """``mask_fn`` with its patches first raised towards the training
    mixtures' shape (``equalising.equalised``, when ``equalise`` is 'boost')
    and then levelled (``levelled``, when ``level`` is 'patch'), as
    ``load_separator`` feeds the network."""
    if level == 'patch':
        mask_fn = levelled(mask_fn)
    if equalise == 'boost':
        mask_fn = equalising.equalised(mask_fn)
    return mask_fn


def levelled(mask_fn, level_db=const.PATCH_LEVEL_DB, max_boost_db=const.PATCH_MAX_BOOST_DB):
    """``mask_fn`` with each patch scaled so that its peak magnitude is at
    ``level_db`` (dB re 1) before the network, raised by at most
    ``max_boost_db``. The model was trained on patches peaking 0 to 12 dB
    below full scale; a file scaled by its own peak alone puts its quieter
    passages below that range, and so a loud moment anywhere in a file would
    change how the rest of it is separated. The mask applies to the mixture
    as it is: only the network's input is scaled."""
    def fn(patches):
        return mask_fn(levelled_patches(patches, level_db, max_boost_db))
    return fn


def levelled_patches(patches, level_db=const.PATCH_LEVEL_DB,
                     max_boost_db=const.PATCH_MAX_BOOST_DB):
    """``patches (B, 1, 512, frames)`` each scaled so that its peak magnitude
    is at ``level_db`` (dB re 1), raised by at most ``max_boost_db``; silent
    patches as they are (``levelled``)."""
    target, most = 10.0 ** (level_db / 20.0), 10.0 ** (max_boost_db / 20.0)
    peaks = patches.max(axis=(1, 2, 3), keepdims=True)
    gains = np.where(peaks > 0, np.minimum(target / np.maximum(peaks, 1e-30), most), 1.0)
    return patches * gains.astype(np.float32)


def network_mask_fn(unet, device):
    """``patches (B, 1, 512, frames) -> masks`` through ``unet`` on ``device``."""
    def mask_fn(patches):
        with chainer.using_config('train', False), chainer.no_backprop_mode():
            mask = unet(device.send(patches)).array
        return chainer.backend.CpuDevice().send(mask)
    return mask_fn


class Separator:
    """Mask-based separation of a 16 kHz mono stream.

    ``mask_fn`` maps normalised magnitude patches ``(B, 1, 512, frames)`` to
    speech masks in [0, 1]. The music estimate is the mixture minus the
    speech estimate, so the two always add up to the mixture.

    The speech estimate is a mean over views of the mixture, each erring in
    its own way (the network's own ensemble):

    * ``shifts`` N: the mixture separated N times, its STFT frames offset by
      ``k * H / N`` samples (k = 0..N-1);
    * ``speeds``: besides the mixture as it is, the mixture played that many
      times as fast (resampled: tempo and pitch, as the training speech was
      perturbed), separated with the same shifts and played back at its own
      speed. Resampling there and back loses the top of the band (above
      about 0.98 times the Nyquist frequency, 7.85 kHz), so what of the
      speed-1 view a round trip loses is added back to each speed view.

    The work is ``N * (1 + len(speeds))`` separations.
    """

    def __init__(self, mask_fn, hard_mask=False, overlap=const.PATCH_OVERLAP,
                 batch=const.SEPARATE_BATCH, length=const.PATCH_LENGTH, shifts=const.SHIFTS,
                 speeds=const.SPEEDS):
        self.mask_fn = mask_fn
        self.hard_mask = hard_mask
        self.patching = dict(length=length, overlap=overlap, batch=batch)
        self.delays = [k * const.H // shifts for k in range(shifts)]
        self.speeds = tuple(float(s) for s in speeds if float(s) != 1.0)

    def stream(self, blocks, n_samples, scale):
        """Yield ``(speech, music)`` blocks for a mixture given as ``blocks``.

        ``n_samples``: the mixture's total length; the outputs add up to it
        exactly. ``scale``: factor that maps the mixture's magnitudes to the
        network's range (``1 / max |STFT|``, as in training).
        """
        plain = _ShiftedViews(self, n_samples)
        views = [_SpeedView(self, n_samples, speed) for speed in self.speeds]
        trips = [_RoundTrip(n_samples, speed) for speed in self.speeds]
        mixture_queue, plain_queue = [], []
        view_queues, trip_queues = [[] for _ in views], [[] for _ in trips]
        for block, last in _with_tail(blocks):
            if not last:
                mixture_queue.append(block)
            speech = plain.push(block, last, scale)
            plain_queue.append(speech)
            for view, queue in zip(views, view_queues):
                queue.append(view.push(block, last, scale))
            for trip, queue in zip(trips, trip_queues):
                queue.append(trip.push(speech, last))
            queues = [mixture_queue, plain_queue] + view_queues + trip_queues
            ready = min(util.queued_samples(queue) for queue in queues)
            if ready or last:
                mixture = util.take_samples(mixture_queue, ready)
                speech = util.take_samples(plain_queue, ready)
                # speed view + (plain - plain resampled twice): each speed view
                # with its lost top band filled in from the plain view
                total = speech.copy()
                for view_queue, trip_queue in zip(view_queues, trip_queues):
                    total += (util.take_samples(view_queue, ready) + speech
                              - util.take_samples(trip_queue, ready))
                speech = total / (1 + len(views))
                yield speech, mixture - speech

    def mask(self, masks):
        """The masks as applied: binarised with ``hard_mask``."""
        if self.hard_mask:
            return (masks > const.HARD_MASK_THRESHOLD).astype(np.float32)
        return masks

    def separate(self, mixture, rate=const.SR):
        """``(speech, music)`` for a whole recording held in memory, as
        make_separate.py separates a file (with ``--sr`` where ``rate`` is
        not 16 kHz).

        ``mixture``: ``(samples,)`` or ``(samples, channels)`` (their mean
        is separated) at ``rate`` Hz. Returns two float32 arrays of shape
        ``(samples,)`` at ``rate`` Hz; they end below 8 kHz, the network's
        band, and add up to the mixture's 16 kHz version. Raises
        ``util.AudioError`` for NaN or Inf samples or floating-point samples
        beyond ``const.MAX_SAMPLE_LEVEL`` (as files are refused), ``ValueError`` for
        a rate outside ``const.MIN_SAMPLE_RATE`` to ``const.MAX_OUTPUT_RATE`` or
        an array that reads as more channels than samples and than
        ``const.MAX_ARRAY_CHANNELS`` (channels first) or has none.
        """
        floating = np.asarray(mixture).dtype.kind not in 'biu'    # integers keep their units
        mixture = np.asarray(mixture, dtype=np.float32)
        # compared, not converted: NaN fails both bounds, and an int past a
        # float's range is judged without an OverflowError
        if not (isinstance(rate, numbers.Real)
                and const.MIN_SAMPLE_RATE <= rate <= const.MAX_OUTPUT_RATE):
            raise ValueError('rate: expected a sample rate of at least {} Hz and at most {} Hz, '
                             'got {!r}'.format(const.MIN_SAMPLE_RATE, const.MAX_OUTPUT_RATE, rate))
        if mixture.ndim == 2 and mixture.shape[1] > max(mixture.shape[0], const.MAX_ARRAY_CHANNELS):
            raise ValueError('mixture: shape {} reads as {} channels of {} samples; give '
                             '(samples, channels), e.g. mixture.T'.format(
                                 mixture.shape, mixture.shape[1], mixture.shape[0]))
        if mixture.ndim == 2 and mixture.shape[1] == 0:
            raise ValueError('mixture: shape {} has no channels'.format(mixture.shape))
        if mixture.ndim == 2:
            mixture = mixture.mean(axis=1)
        if mixture.ndim != 1:
            raise ValueError('mixture: expected (samples,) or (samples, channels), got shape '
                             '{}'.format(mixture.shape))
        util.check_samples(mixture, 'mixture', 'give float samples of full scale 1',
                           level=floating)
        n_out = len(mixture)            # as long as it came in, as files are written
        mixture = _resampled(mixture, rate, const.SR)
        scale = normalisation(peak_magnitude([mixture]))
        parts = list(self.stream([mixture], len(mixture), scale))
        return tuple(_resampled(np.concatenate([p[k] for p in parts]), const.SR, rate, n_out)
                     for k in (0, 1))


class _MaskingPass:
    """One separation of the stream, delayed by ``delay`` samples of silence.

    The stream is also padded by ``const.TAIL_PAD`` samples of silence at the
    end (in the block marked last); ``push`` returns the speech estimate
    trimmed back to the mixture's own samples, ``n_samples`` in all.
    """

    def __init__(self, separator, n_samples, delay):
        self.separator = separator
        self.analysis = util.StreamingSTFT()
        self.masker = util.PatchMasker(separator.mask_fn, **separator.patching)
        self.speech_out = util.StreamingISTFT(delay + n_samples + const.TAIL_PAD)
        self.pending = np.zeros((const.N_BINS, 0), np.complex64)
        self.lead = np.zeros(delay, np.float32)       # silence still to feed
        self.skip = delay                              # output samples still to drop
        self.remaining = n_samples                     # output samples still to give

    def push(self, block, last, scale):
        """The speech samples that ``block`` completes."""
        if len(self.lead):
            block, self.lead = np.concatenate([self.lead, block]), self.lead[:0]
        spectrum = self.analysis.push(block)
        if last:
            spectrum = np.concatenate([spectrum, self.analysis.finish()], axis=1)
        self.pending = np.concatenate([self.pending, spectrum], axis=1)
        masks = self.masker.push(np.abs(spectrum) * scale)
        if last:
            masks = np.concatenate([masks, self.masker.finish()], axis=1)
        k = masks.shape[1]
        mixture, self.pending = self.pending[:, :k], self.pending[:, k:]
        speech = self.speech_out.push(mixture * self.separator.mask(masks))
        if last:
            speech = np.concatenate([speech, self.speech_out.finish()])
        start = min(self.skip, len(speech))      # the delay's samples are dropped
        keep = max(0, min(len(speech) - start, self.remaining))
        self.skip -= start
        self.remaining -= keep
        return speech[start:start + keep]


class _ShiftedViews:
    """The separator's shifted passes over one stream, averaged: ``push``
    returns the mean speech samples all passes have given."""

    def __init__(self, separator, n_samples):
        self.passes = [_MaskingPass(separator, n_samples, delay) for delay in separator.delays]
        self.queues = [[] for _ in self.passes]

    def push(self, block, last, scale):
        for one, queue in zip(self.passes, self.queues):
            queue.append(one.push(block, last, scale))
        ready = min(util.queued_samples(queue) for queue in self.queues)
        return (sum(util.take_samples(queue, ready) for queue in self.queues)
                / len(self.queues))


class _SpeedView:
    """The stream played ``speed`` times as fast, separated (with the
    separator's shifts) and its speech played back at the original speed:
    ``n_samples`` in all, like the stream."""

    def __init__(self, separator, n_samples, speed):
        self.faster = util.Resampler(const.SR * speed, const.SR, n_samples)
        self.views = _ShiftedViews(separator, self.faster.n_out)
        self.back = _Fitted(util.Resampler(const.SR, const.SR * speed, self.faster.n_out),
                            n_samples)

    def push(self, block, last, scale):
        view = self.faster.process(block)
        if last:
            view = np.concatenate([view, self.faster.finish(),
                                   np.zeros(const.TAIL_PAD, np.float32)])
        return self.back.push(self.views.push(view, last, scale), last)


class _RoundTrip:
    """Samples played ``speed`` times as fast and back, as a ``_SpeedView``
    resamples: what of a signal survives that (the band below the filters'
    edge), ``n_samples`` in all."""

    def __init__(self, n_samples, speed):
        self.faster = util.Resampler(const.SR * speed, const.SR, n_samples)
        self.back = _Fitted(util.Resampler(const.SR, const.SR * speed, self.faster.n_out),
                            n_samples)

    def push(self, samples, last):
        view = self.faster.process(samples)
        if last:
            view = np.concatenate([view, self.faster.finish()])
        return self.back.push(view, last)


class _Fitted:
    """A ``util.Resampler`` whose output is trimmed or zero-padded to exactly
    ``n_samples`` (resampling there and back may end a sample off)."""

    def __init__(self, resampler, n_samples):
        self.resampler = resampler
        self.remaining = n_samples

    def push(self, samples, last):
        out = self.resampler.process(samples)
        if last:
            out = np.concatenate([out, self.resampler.finish()])
        out = out[:self.remaining]
        if last:
            out = np.concatenate([out, np.zeros(self.remaining - len(out), np.float32)])
        self.remaining -= len(out)
        return out


def _with_tail(blocks):
    """``(block, False)`` for each block, then ``const.TAIL_PAD`` samples of
    silence marked last."""
    for block in blocks:
        yield block, False
    yield np.zeros(const.TAIL_PAD, np.float32), True


def _resampled(signal, rate_in, rate_out, n_out=None):
    """``signal`` at ``rate_out`` Hz through ``util.Resampler`` (as files are
    read and written), ``n_out`` samples long (default: its length there)."""
    resampler = util.Resampler(rate_in, rate_out, len(signal))
    if n_out is not None:
        resampler.n_out = n_out
    return np.concatenate([resampler.process(signal), resampler.finish()])


def peak_magnitude(blocks):
    """Largest STFT magnitude of a stream of blocks (the first pass)."""
    analysis = util.StreamingSTFT()
    peak = 0.0
    for block in blocks:
        peak = max(peak, float(np.abs(analysis.push(block)).max(initial=0.0)))
    return max(peak, float(np.abs(analysis.finish()).max(initial=0.0)))


def normalisation(peak):
    """Scale mapping magnitudes to [0, 1]; 0 for silence (the mask is moot)."""
    return 1.0 / peak if peak > 0 else 0.0


if __name__ == '__main__':
    sys.exit(main())
