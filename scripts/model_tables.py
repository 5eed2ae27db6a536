"""Markdown tables of docs/MODEL.md from an ``evaluate.py --csv`` file.

One row per input SNR or condition and method: mean SI-SDR improvement
with the worst file's, PESQ and STOI for the mixtures; for speech alone the
output's SI-SDR against the clean input (mean, worst); for music alone the
output level relative to the input (mean, worst). Then the figures the
issue's bar names. A mean or worst over k of the n files its metric
applies to reads "value (k/n)", as in evaluate.py's summary. Every mixture row needs its input SNR (evaluate.py
takes it from the manifest.csv beside the mixtures); a file with one
without is refused in one line.

Usage: python3 scripts/model_tables.py build/test_eval.csv [--labels A B ...]
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import cli  # noqa: E402
# mean and worst: of the finite values only
from evaluate import APPLIES_TO, mean, partial_cell, read_scores, snr_group, worst  # noqa: E402
from paired import input_snr  # noqa: E402

PROG = 'model_tables.py'

MIXTURE_COLUMNS = '| input SNR | method | files | SI-SDRi | worst SI-SDRi | PESQ (wb) | STOI |'
ALONE_COLUMNS = '| condition | method | files | mean | worst |'


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('csv', help='per-file scores written by evaluate.py --csv')
    parser.add_argument('--labels', nargs='+', default=None,
                        help='methods to show, in this order (default: all, as found)')
    return parser


def number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return float('nan')
    return value


def group_of(row):
    if row['condition']:
        return row['condition']
    return snr_group(number(row['snr_db']))      # halves away from 0, as evaluate.py groups


def cell(rows, key, spec, worst_file=False):
    """The mean (``worst_file``: the worst file's value) of ``key`` over
    ``rows`` formatted by ``spec``, marked ``(k/n)`` as evaluate.py marks it
    where it is over k of the n rows that ``key`` applies to
    (``evaluate.APPLIES_TO``)."""
    values = [number(r[key]) for r in rows]
    value = worst(values, key) if worst_file else mean(values)
    return partial_cell(spec.format(value), sum(math.isfinite(v) for v in values),
                        sum(r['condition'] in APPLIES_TO[key] for r in rows))


def mixture_rows(rows, labels, groups):
    lines = [MIXTURE_COLUMNS, '| ---: | --- | ---: | ---: | ---: | ---: | ---: |']
    for group in groups:
        for label in labels:
            mine = [r for r in rows if group_of(r) == group and r['method'] == label]
            lines.append('| {:+d} dB | {} | {} | {} | {} | {} | {} |'.format(
                group, label, len(mine), cell(mine, 'si_sdri', '{:.2f}'),
                cell(mine, 'si_sdri', '{:.2f}', worst_file=True),
                cell(mine, 'pesq', '{:.2f}'), cell(mine, 'stoi', '{:.3f}')))
    return lines


def alone_rows(rows, labels):
    lines = [ALONE_COLUMNS, '| --- | --- | ---: | ---: | ---: |']
    for condition, key in (('speech alone', 'passthrough'), ('music alone', 'leak_db')):
        for label in labels:
            mine = [r for r in rows if r['condition'] == condition and r['method'] == label]
            if any(math.isfinite(number(r[key])) for r in mine):
                lines.append('| {} | {} | {} | {} | {} |'.format(
                    condition, label, len(mine), cell(mine, key, '{:.1f} dB'),
                    cell(mine, key, '{:.1f} dB', worst_file=True)))
    return lines


def bar_rows(rows, labels):
    lines = ['| method | SI-SDRi mean of -5/0/+5 dB | +10 dB mean | +10 dB worst | '
             'speech alone mean | speech alone worst | music alone mean |',
             '| --- | ---: | ---: | ---: | ---: | ---: | ---: |']
    for label in labels:
        mine = [r for r in rows if r['method'] == label]

        def of(group):
            return [r for r in mine if group_of(r) == group]
        low = sum(mean(number(r['si_sdri']) for r in of(g)) for g in (-5, 0, 5)) / 3
        ten, passing = of(10), of('speech alone')         # low: NaN if a group is missing
        lines.append('| {} | {:.2f} | {} | {} | {} | {} | {} |'.format(
            label, low, cell(ten, 'si_sdri', '{:.2f}'),
            cell(ten, 'si_sdri', '{:.2f}', worst_file=True), cell(passing, 'passthrough', '{:.1f}'),
            cell(passing, 'passthrough', '{:.1f}', worst_file=True),
            cell(of('music alone'), 'leak_db', '{:.1f}')))
    return lines


def main(argv=None):
    return cli.main(PROG, build_parser(), tables, argv, audio=False)


def tables(args):
    """Print the three tables of ``args.csv``."""
    rows = read_scores(args.csv)
    methods = list(dict.fromkeys(r['method'] for r in rows))
    unknown = [label for label in args.labels or () if label not in methods]
    if unknown:
        raise cli.UserError('--labels {}: not a method of {} (it has {})'.format(
            unknown[0], args.csv, ', '.join(methods)))
    labels = args.labels or methods
    groups = sorted({input_snr(args.csv, r) for r in rows if not r['condition']})
    print('\n'.join(mixture_rows(rows, labels, groups)))
    print()
    print('\n'.join(alone_rows(rows, labels)))
    print()
    print('\n'.join(bar_rows(rows, labels)))


if __name__ == '__main__':
    sys.exit(main())
