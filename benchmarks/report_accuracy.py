"""How well make_separate.py --report's speech-to-music ratio follows the true one.

Separates every mixture of a folder of evaluation items (``make_dataset.py
--refs``: ``NAME.wav`` with ``NAME.speech.wav`` and ``NAME.music.wav``,
``manifest.csv``), as ``make model-data`` writes them to build/val_eval,
with

    python make_separate.py -i ITEMS -o WORK/speech -m MODEL --report WORK/report.csv

and sets each file's ``speech_to_music_db`` beside its true ratio, the
energies of its speech and music references. The table groups the files
by the manifest's ``snr_db`` (speech alone and music alone apart): the true
and the reported ratio's mean, the reported one's spread and range, and the
mean error (the last two rows have no true ratio: one source is silent). Below it, over the mixtures of both, the correlation and the
mean absolute error, and for a threshold ``--threshold`` (dB) the share of
each group that a "music under it" rule (reported ratio below the
threshold) flags.

``--passages 5 2``: also the music estimates are written, and the files are
judged in passages of those lengths as ``make_separate.py --keep-clean
THRESHOLD --passage SECONDS`` judges them (``passage_gate``): per group,
the share of passages kept as they came in, over the kept passages of
mixtures the true ratio's lowest and mean value (how much music a kept
passage can hold), and how far each passage's reported ratio (that of
``make_separate.py --passage-report``) lies from its true one. With ``--gate-music 20 30`` also, for each of those
thresholds, the share of passages ``make_separate.py --gate-music DB``
writes as silence, and over the silenced passages of mixtures the true
ratio's highest value (how much speech a silenced passage can hold) and
the share of the mixtures' speech energy silenced.

``--keep`` leaves the work folder (estimates and report) and says where;
``--estimates WORK`` tabulates such a folder again without separating,
for the items its report names (``-i`` may be left out; other items are
refused).

Unlike separate_speed.py it needs the evaluation items and the model; it
writes only in its work folder (removed unless ``--keep``). Options after
``--`` go to make_separate.py (e.g. ``-- --shifts 1 --speeds 1``).

Usage: .venv/bin/python benchmarks/report_accuracy.py -i build/val_eval [-m unet.model]
"""
import argparse
import csv
import functools
import math
import os
import shutil
import sys
import tempfile
import time

import common   # puts the repository root on sys.path
import numpy as np

import cli
import const
import passage_gate
import separation_report
import util


PROG = 'report_accuracy.py'
# The report's columns this script reads (make_separate.py --report).
REPORT_COLUMNS = ('input', 'status', 'speech_to_music_db')
PASSAGE_COLUMNS = ('output', 'music_output')
DEFAULT_ITEMS = os.path.join('build', 'val_eval')     # make model-data's validation items


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Reported against true speech-to-music ratios on evaluation items')
    parser.add_argument('--items', '-i', default=None,
                        help='folder of evaluation items with manifest.csv files '
                             '(default: {}; with --estimates, the items its report '
                             'names)'.format(DEFAULT_ITEMS))
    parser.add_argument('--model', '-m', default=const.MODEL_FILE,
                        help='model (default: %(default)s)')
    parser.add_argument('--threshold', type=float, default=20.0, metavar='DB',
                        help='a reported ratio below this flags music (default: %(default)s)')
    parser.add_argument('--passages', type=float, nargs='+', default=[], metavar='SECONDS',
                        help='also judge passages of these lengths as --keep-clean '
                             'THRESHOLD --passage SECONDS does')
    parser.add_argument('--gate-music', type=float, nargs='+', default=[], metavar='DB',
                        help='with --passages, also the passages silenced at these '
                             'thresholds (make_separate.py --gate-music)')
    parser.add_argument('--estimates', default=None, metavar='WORK',
                        help='tabulate the work folder a --keep run left, without separating')
    parser.add_argument('--workdir', default=None, help='where the work folder is made')
    parser.add_argument('--keep', action='store_true', help='keep the work folder')
    parser.add_argument('--markdown', action='store_true', help='print markdown tables')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    parser.add_argument('separation', nargs='*', metavar='-- OPTION',
                        help='make_separate.py options')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), run, argv)


def run(args):
    check_args(args)
    common.print_machine([('items', args.items)] + (
        [('estimates', '{} (not separated again)'.format(args.estimates))] if args.estimates
        else [('model', args.model),
              ('make_separate.py options', ' '.join(args.separation) or 'defaults')]),
        args.markdown)
    if args.estimates:
        report = os.path.join(args.estimates, 'report.csv')
        files = matched(report)
        passages = judged_passages(report, args.passages)
    else:
        files, passages = separated(args)
    tabulate(files, args.threshold, args.markdown)
    for seconds, judged in passages.items():
        print()
        tabulate_passages(judged, seconds, args.threshold, args.markdown)
        if args.gate_music:
            print()
            tabulate_silenced(judged, seconds, args.gate_music, args.markdown)
    return 0


def check_args(args):
    """A ``cli.UserError`` for the first problem with the arguments, found
    before anything is separated; sets ``args.items`` where it was left out."""
    if args.estimates:
        args.items = check_estimates(args.estimates, bool(args.passages), args.items)
    elif args.items is None:
        args.items = DEFAULT_ITEMS
    if not os.path.isdir(args.items):
        raise cli.UserError('-i {}: no such folder (make model-data writes '
                            'build/val_eval)'.format(args.items))
    if not math.isfinite(args.threshold):
        raise cli.UserError('--threshold {}: must be a finite number of dB'.format(
            args.threshold))
    for seconds in args.passages:
        if not (math.isfinite(seconds) and round(seconds * const.SR) >= 1):
            raise cli.UserError('--passages {}: a passage must be a finite length of at '
                                'least one sample ({:g} s)'.format(seconds, 1 / const.SR))
    for db in args.gate_music:
        if not math.isfinite(db):
            raise cli.UserError('--gate-music {}: must be a finite number of dB'.format(db))
    if not args.estimates and args.workdir is not None and not os.path.isdir(args.workdir):
        raise cli.UserError('--workdir {}: no such folder'.format(args.workdir))


def check_estimates(work, passages, items):
    """A ``cli.UserError`` unless ``work`` holds a report.csv (and, for
    ``passages``, the speech and music estimates it names) whose separated
    items lie in ``items`` (None: wherever they are) beside their
    manifest.csv. Returns the items' folder."""
    if not os.path.isdir(work):
        raise cli.UserError('--estimates {}: no such folder'.format(work))
    report = os.path.join(work, 'report.csv')
    if not os.path.isfile(report):
        raise cli.UserError('--estimates {}: no report.csv (the work folder of a '
                            'report_accuracy.py --keep run)'.format(work))
    rows = cli.csv_rows(report, REPORT_COLUMNS + (PASSAGE_COLUMNS if passages else ()),
                        'a make_separate.py --report file')
    inputs = [entry['input'] for entry in rows if entry['status'] == 'separated']
    if not inputs:
        raise cli.UserError('--estimates {}: its report.csv names no separated file'.format(work))
    found = os.path.commonpath([os.path.dirname(os.path.abspath(path)) for path in inputs])
    if items is not None and os.path.commonpath(
            [os.path.realpath(found), os.path.realpath(items)]) != os.path.realpath(items):
        raise cli.UserError('--estimates {}: its report.csv separated the items in {}, '
                            'not those in -i {} (leave -i out to use the report\'s)'.format(
                                work, found, items))
    for path in inputs:
        folder = os.path.dirname(path)
        if not os.path.isfile(os.path.join(folder, const.MANIFEST)):
            raise cli.UserError('--estimates {}: {} has no {} beside it (were the items '
                                'moved?)'.format(work, path, const.MANIFEST))
    if passages:
        check_passage_estimates(work, rows)
    return items if items is not None else found


def check_passage_estimates(work, rows):
    """A ``cli.UserError`` unless every separated row of the report names
    its speech and music estimates, and they are there."""
    for entry in rows:
        if entry['status'] != 'separated':
            continue
        for column in PASSAGE_COLUMNS:
            if not entry[column] or not os.path.isfile(entry[column]):
                raise cli.UserError(
                    '--estimates {}: {} {} missing; --passages needs the estimates of a '
                    '--keep run with --passages'.format(
                        work, 'music estimate' if column == 'music_output' else 'estimate',
                        entry[column] or 'of {}'.format(entry['input'])))


def separated(args):
    """Separate the items into a work folder (``--keep``: left there) and
    return ``(matched files, judged passages)``. Whatever ends the run (an
    error, Ctrl-C, SIGTERM), make_separate.py is stopped and waited for and
    the work folder removed (unless ``--keep``)."""
    try:
        work = tempfile.mkdtemp(prefix='report_accuracy_', dir=args.workdir)
    except OSError as err:
        raise cli.UserError('--workdir {}: cannot make the work folder there ({})'.format(
            args.workdir, err.strerror or err)) from None
    try:
        report = os.path.join(work, 'report.csv')
        music_out = ['--music-out', os.path.join(work, 'music')] if args.passages else []
        command = [sys.executable, os.path.join(common.ROOT, 'make_separate.py'),
                   '-i', args.items, '-o', os.path.join(work, 'speech'), '-m', args.model,
                   '--report', report] + music_out + args.separation
        started = time.time()
        with common.child_process(command) as process:
            status = process.wait()
        if status != 0:
            raise cli.UserError('make_separate.py failed (exit status {})'.format(status))
        print('separated in {:.0f} s'.format(time.time() - started), file=sys.stderr)
        return matched(report), judged_passages(report, args.passages)
    finally:
        if args.keep:
            print('kept {}'.format(work), file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def matched(report):
    """``[(group, true_db, reported_db)]`` of the report's separated files:
    the group is the manifest's ``snr_db`` (``inf`` speech alone, ``-inf``
    music alone), the true ratio that of the references beside the input."""
    files = []
    with util.open_csv(report) as handle:
        for entry in csv.DictReader(handle):
            if entry['status'] != 'separated' or entry['speech_to_music_db'] == '':
                continue
            folder, name = os.path.split(entry['input'])
            stem = os.path.splitext(name)[0]
            group = manifest_snr(folder, stem)
            speech, music = (util.load_audio(os.path.join(folder, stem + tag + '.wav'))
                             for tag in const.REFERENCE_TAGS)
            files.append((group, true_ratio_db(speech, music),
                          float(entry['speech_to_music_db'])))
    return files


def judged_passages(report, lengths):
    """``{seconds: [(group, true_db, reported_db, speech_energy)]}``: for
    each passage length of ``lengths``, every passage of the report's
    separated files, cut as ``passage_gate.PassageGate`` cuts them, with the
    estimates' speech-to-music ratio that it judges (``reported_db``), the
    references' over the same samples (``true_db``) and the speech
    reference's energy there. Each file is read once for all the lengths."""
    passages = {seconds: [] for seconds in lengths}
    if not lengths:
        return passages
    with util.open_csv(report) as handle:
        for entry in csv.DictReader(handle):
            if entry['status'] != 'separated':
                continue
            folder, name = os.path.split(entry['input'])
            stem = os.path.splitext(name)[0]
            group = manifest_snr(folder, stem)
            speech, music = (util.load_audio(path) for path in (entry['output'],
                                                                 entry['music_output']))
            refs = [util.load_audio(os.path.join(folder, stem + tag + '.wav'))
                    for tag in const.REFERENCE_TAGS]
            for seconds, judged in passages.items():
                gate = passage_gate.PassageGate(None, None, round(seconds * const.SR), 0)
                for _ in gate.gated([(speech, music)]):
                    pass                # no thresholds: cut and measured only
                for (start, length, _), energies in zip(gate.decisions, gate.energies):
                    span = slice(start, start + length)
                    reported = separation_report.ratio_db(*energies[:2])
                    judged.append((group, true_ratio_db(refs[0][span], refs[1][span]),
                                   reported, passage_gate.energy(refs[0][span])))
    return passages


def manifest_snr(folder, stem):
    """The manifest's ``snr_db`` of item ``stem`` in ``folder``."""
    return manifest(folder)[stem]


@functools.lru_cache(maxsize=None)
def manifest(folder):
    """``{name: snr_db}`` of ``folder``'s manifest, read once."""
    with util.open_csv(os.path.join(folder, const.MANIFEST)) as handle:
        return {r['name']: float(r['snr_db']) for r in csv.DictReader(handle)}


def true_ratio_db(speech, music):
    """The references' speech-to-music energy ratio, dB, clipped as the report clips."""
    s, m = (float(np.sum(np.asarray(x, np.float64) ** 2)) for x in (speech, music))
    if m == 0.0:
        return 120.0
    if s == 0.0:
        return -120.0
    return float(np.clip(10 * math.log10(s / m), -120.0, 120.0))


def group_name(group):
    if group == math.inf:
        return 'speech alone'
    if group == -math.inf:
        return 'music alone'
    return '{:+g} dB'.format(group) if group else '0 dB'


def tabulate(files, threshold, markdown):
    header = ['input', 'files', 'true', 'reported', 'sd', 'lowest', 'highest', 'error',
              'flagged < {:g} dB'.format(threshold)]
    rows = []
    for group in sorted_groups(files):
        true = np.array([t for g, t, _ in files if g == group])
        got = np.array([r for g, _, r in files if g == group])
        alone = math.isinf(group)       # no true ratio: one source is silent
        rows.append([group_name(group), str(len(got)),
                     '-' if alone else '{:.1f}'.format(true.mean()),
                     '{:.1f}'.format(got.mean()), '{:.1f}'.format(got.std()),
                     '{:.1f}'.format(got.min()), '{:.1f}'.format(got.max()),
                     '-' if alone else '{:+.1f}'.format((got - true).mean()),
                     '{:.0f} %'.format(100 * np.mean(got < threshold))])
    common.print_table(header, rows, markdown, machine=False)
    mixtures = [(t, r) for g, t, r in files if not math.isinf(g)]
    if len(mixtures) > 1:
        true, got = np.array(mixtures).T
        print('\nmixtures ({} files): correlation {:.3f}, mean absolute error {:.2f} dB'.format(
            len(true), np.corrcoef(true, got)[0, 1], np.mean(np.abs(got - true))))



def tabulate_passages(passages, seconds, threshold, markdown):
    """Per group: passages of ``seconds``, the share kept (reported ratio
    above ``threshold``), the true ratio of the kept passages of mixtures
    (lowest, mean), and how far the reported ratio (``--passage-report``'s
    ``speech_to_music_db``) lies from the true one: mean error and median
    absolute error; below it, over the passages of mixtures, the
    correlation and the mean absolute error."""
    print('passages of {:g} s, kept above {:g} dB (--keep-clean {:g} --passage '
          '{:g}):'.format(seconds, threshold, threshold, seconds))
    rows = []
    for group in sorted_groups(passages):
        true = np.array([t for g, t, _, _ in passages if g == group])
        got = np.array([r for g, _, r, _ in passages if g == group])
        clean = got > threshold
        alone = math.isinf(group)
        mixed = not alone and clean.any()
        rows.append([group_name(group), str(len(clean)), '{:.1f} %'.format(100 * clean.mean()),
                     '{:.1f}'.format(true[clean].min()) if mixed else '-',
                     '{:.1f}'.format(true[clean].mean()) if mixed else '-',
                     '-' if alone else '{:+.1f}'.format((got - true).mean()),
                     '-' if alone else '{:.1f}'.format(np.median(np.abs(got - true)))])
    common.print_table(['input', 'passages', 'kept', 'kept: lowest true', 'kept: mean true',
                        'error', 'median abs error'], rows, markdown, machine=False)
    mixtures = [(t, r) for g, t, r, _ in passages if not math.isinf(g)]
    if len(mixtures) > 1:
        true, got = np.array(mixtures).T
        print('\npassages of mixtures ({}): correlation {:.3f}, mean absolute error {:.2f} '
              'dB'.format(len(true), np.corrcoef(true, got)[0, 1], np.mean(np.abs(got - true))))


def tabulate_silenced(passages, seconds, thresholds, markdown):
    """Per group and per threshold of ``thresholds``: the share of the
    passages of ``seconds`` silenced (reported ratio below minus the
    threshold), and for mixtures the highest true ratio of a silenced
    passage and the share of the group's speech energy silenced."""
    print('passages of {:g} s, silenced below minus the threshold (--gate-music DB '
          '--passage {:g}): share silenced; in mixtures, the highest true ratio of a '
          'silenced passage and the share of the speech energy silenced:'.format(
              seconds, seconds))
    rows = []
    for group in sorted_groups(passages):
        entries = [(t, r, e) for g, t, r, e in passages if g == group]
        true, reported, speech = (np.array(column) for column in zip(*entries))
        row = [group_name(group), str(len(entries))]
        for threshold in thresholds:
            silenced = reported < -threshold
            row.append('{:.1f} %'.format(100 * silenced.mean()))
            if not math.isinf(group):
                row.append('{:.1f} / {:.3f} %'.format(
                    true[silenced].max(), 100 * speech[silenced].sum() / speech.sum())
                    if silenced.any() else '-')
            else:
                row.append('-')
        rows.append(row)
    header = ['input', 'passages']
    for threshold in thresholds:
        header += ['{:g} dB: silenced'.format(threshold), 'highest true / speech lost']
    common.print_table(header, rows, markdown, machine=False)


def sorted_groups(passages):
    """The groups of ``passages``: the SNRs rising, then speech alone and
    music alone."""
    return sorted({entry[0] for entry in passages},
                  key=lambda g: (math.isinf(g), -g if math.isinf(g) else g))


if __name__ == '__main__':
    sys.exit(main())
