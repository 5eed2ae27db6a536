"""Two models scored on the same items, compared item by item.

Reads two ``evaluate.py --csv`` files (a baseline and a candidate, the same
items) and prints, for the mixtures at -5, 0 and +5 dB, the candidate's
SI-SDR improvement less the baseline's on each item: the mean of those
differences with its standard error, per input SNR and over all three.
Pairing removes what the items share (a hard track is hard for both), so a
difference of a tenth of a dB can be told from noise where two plain means
cannot.

With ``--turns NAME ...`` the items are also grouped by their turn within
their folder, as ``scripts/channel_items.py`` hands channels or rooms out
(the k-th item of a folder, sorted by name, took the (k mod N)-th of the N
names, which are given sorted as channel_items.py sorts them).

``--snrs -15 -10`` compares the items at other input SNRs instead (e.g.
build/val_low's).

``--harm`` adds the measures of what a model may spoil, side by side: the
+10 dB mixtures' mean and worst SI-SDRi, speech alone's mean and worst
passthrough, and music alone's mean and worst leak, with the mean also
taken over leaks counted no lower than -40 dB (``AUDIBLE_LEAK_DB``): a
plain mean of decibels moves most with files already 60 to 90 dB down,
which nobody hears either way.

Usage: python3 scripts/paired.py BASE.csv NEW.csv [--turns hall living-room small-room]
                                 [--snrs -5 0 5] [--harm]
"""
import argparse
import collections
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import cli  # noqa: E402
import const  # noqa: E402
from evaluate import (ORACLE_LABELS, TOO_SHORT, parse_snr, read_scores,  # noqa: E402
                      snr_group)

PROG = 'paired.py'

SNRS_DB = (-5, 0, 5)      # the input SNRs of the headline figure (the default)
HARM_SNR_DB = 10          # the quiet music bed of the harm figures, dB
AUDIBLE_LEAK_DB = -40.0   # music alone's leak counted no lower than this in --harm, dB


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('base', help='evaluate.py --csv of the baseline model')
    parser.add_argument('new', help='evaluate.py --csv of the candidate, the same items')
    parser.add_argument('--turns', nargs='+', default=None, metavar='NAME',
                        help='also group by turn within each folder (channel_items.py)')
    parser.add_argument('--snrs', type=int, nargs='+', default=list(SNRS_DB), metavar='DB',
                        help='the input SNRs compared (default: {})'.format(
                            ' '.join(str(snr) for snr in SNRS_DB)))
    parser.add_argument('--harm', action='store_true',
                        help='also compare +10 dB, speech alone and music alone')
    return parser


def gains(path, snrs=SNRS_DB):
    """``{item name: (input SNR, SI-SDRi)}``, both in dB, of the model's rows at the input
    SNRs ``snrs`` (dB; ``--oracle`` rows are left out; a file with two models is refused)."""
    rows = [r for r in read_scores(path) if not r['condition']
            and r['method'] not in ORACLE_LABELS]
    try:
        scored = [(r['name'], r['method'], input_snr(path, r), float(r['si_sdri']))
                  for r in rows]
    except (TypeError, ValueError) as err:
        raise cli.UserError('{}: a score that is not a number ({})'.format(path, err))
    methods = sorted({method for _, method, _, _ in scored})
    if not methods:
        raise cli.UserError('{}: no model\'s mixture rows (only --oracle ones, or none); '
                            'score a model with evaluate.py -m'.format(path))
    if len(methods) > 1:
        raise cli.UserError('{} scores several models ({}); give one per file'.format(
            path, ', '.join(methods)))
    compared = [(name, snr, gain) for name, _, snr, gain in scored if snr in snrs]
    undefined = sum(not math.isfinite(gain) for _, _, gain in compared)
    if undefined:
        print('note: {}: left out {} item{} whose SI-SDRi is nan (too short, say: see '
              'the notes column)'.format(path, undefined, cli.plural(undefined)),
              file=sys.stderr)
    return {name: (snr, gain) for name, snr, gain in compared if math.isfinite(gain)}


def input_snr(path, row):
    """The input SNR (dB, rounded to a whole dB, halves away from 0) of a mixture row of the
    ``evaluate.py --csv`` file ``path``; ``cli.UserError`` naming the file and
    item when its snr_db is empty, text or infinite (evaluate.py scored a
    folder without manifest.csv): these tables group mixtures by input SNR."""
    snr = parse_snr(row['snr_db'])
    if snr is None:
        raise cli.UserError("{}: its mixture rows have no input SNR ({}: snr_db '{}'); "
                            "score mixtures that have make_dataset.py's manifest.csv "
                            "beside them".format(path, row['name'], row['snr_db']))
    return snr_group(snr)        # halves away from 0, as evaluate.py groups


def harm(path):
    """``[(measure, value)]`` (dB) of what the model in ``path`` may
    spoil: +10 dB SI-SDRi mean and worst, speech alone's passthrough mean
    and worst, music alone's leak mean, mean with each file counted no
    lower than ``AUDIBLE_LEAK_DB``, and worst (NaN where there are no such
    items). An item too short to score (NaN, with evaluate.py's note) is
    left out, with a note counting them; another NaN score among them is
    refused, naming the item."""
    rows = [r for r in read_scores(path) if r['method'] not in ORACLE_LABELS]
    try:
        quiet = [(r['name'], float(r['si_sdri'])) for r in rows if not r['condition']
                 and input_snr(path, r) == HARM_SNR_DB]
        clean = [(r['name'], float(r['passthrough'])) for r in rows
                 if r['condition'] == 'speech alone']
        leaks = [(r['name'], float(r['leak_db'])) for r in rows if r['condition'] == 'music alone']
    except ValueError as err:
        raise cli.UserError('{}: a score that is not a number ({})'.format(path, err))
    short = {r['name'] for r in rows if too_short(r)}
    measured = quiet + clean + leaks
    quiet, clean, leaks = ([(name, value) for name, value in pairs
                            if not (math.isnan(value) and name in short)]
                           for pairs in (quiet, clean, leaks))
    left_out = len(measured) - len(quiet + clean + leaks)
    if left_out:
        print('note: {}: --harm leaves out {} item{} too short to score (under {} samples; '
              'nan, with a note)'.format(path, left_out, cli.plural(left_out),
                                         const.EVAL_MIN_SAMPLES), file=sys.stderr)
    for name, value in quiet + clean + leaks:
        if math.isnan(value):     # min and max would depend on where it sits
            raise cli.UserError('{}: {} is scored nan, which has no place among the others; '
                                'score the items again (evaluate.py now scores a lost voice '
                                '-200 dB)'.format(path, name))
    quiet, clean, leaks = ([value for _, value in pairs] for pairs in (quiet, clean, leaks))
    audible = [max(leak, AUDIBLE_LEAK_DB) for leak in leaks]
    return [('{:+d} dB SI-SDRi, mean'.format(HARM_SNR_DB), mean(quiet)),
            ('{:+d} dB SI-SDRi, worst'.format(HARM_SNR_DB), min(quiet, default=math.nan)),
            ('speech alone passthrough, mean', mean(clean)),
            ('speech alone passthrough, worst', min(clean, default=math.nan)),
            ('music alone leak, mean', mean(leaks)),
            ('music alone leak, mean counted from {:g} dB'.format(AUDIBLE_LEAK_DB),
             mean(audible)),
            ('music alone leak, worst', max(leaks, default=math.nan))]


def too_short(row):
    """Whether ``row``'s SI-SDR is undefined for an item under
    ``const.EVAL_MIN_SAMPLES`` samples, as its notes say."""
    return 'si_sdr: ' + TOO_SHORT in row['notes']


def mean(values):
    return sum(values) / len(values) if values else math.nan


def turn_groups(names, labels):
    """``{name: label}``: each item's turn within its folder (sorted names)."""
    by_folder = collections.defaultdict(list)
    for name in names:
        by_folder[os.path.dirname(name)].append(name)
    return {name: labels[k % len(labels)]
            for folder in by_folder.values() for k, name in enumerate(sorted(folder))}


def summary(differences):
    """Mean and standard error of a list of differences (dB)."""
    n = len(differences)
    average = sum(differences) / n
    spread = math.sqrt(sum((d - average) ** 2 for d in differences) / (n - 1)) if n > 1 else 0.0
    return average, spread / math.sqrt(n)


def main(argv=None):
    return cli.main(PROG, build_parser(), compare, argv, audio=False)


def compare(args):
    """Print the paired table of ``args.base`` against ``args.new``."""
    base, new = gains(args.base, args.snrs), gains(args.new, args.snrs)
    names = sorted(set(base) & set(new))
    if not names:
        raise cli.UserError('{} and {} share no items at {} dB'.format(
            args.base, args.new, '/'.join('{:+d}'.format(s) if s else '0' for s in args.snrs)))
    groups = collections.defaultdict(list)
    for name in sorted(names, key=lambda n: base[n][0]):     # the SNRs in order
        groups['{:+d} dB'.format(base[name][0])].append(name)
    if args.turns:
        for name, label in turn_groups(names, args.turns).items():
            groups[label].append(name)
    groups['all'] = names
    print('| group | items | base | new | paired difference (standard error) |')
    print('| --- | ---: | ---: | ---: | --- |')
    for label, members in groups.items():
        average, error = summary([new[n][1] - base[n][1] for n in members])
        print('| {} | {} | {:.2f} | {:.2f} | {:+.2f} ({:.2f}) |'.format(
            label, len(members), sum(base[n][1] for n in members) / len(members),
            sum(new[n][1] for n in members) / len(members), average, error))
    if args.harm:
        print()
        print('| measure (dB) | base | new | new - base |')
        print('| --- | ---: | ---: | ---: |')
        for (label, before), (_, after) in zip(harm(args.base), harm(args.new)):
            print('| {} | {:.2f} | {:.2f} | {:+.2f} |'.format(label, before, after,
                                                           after - before))


if __name__ == '__main__':
    sys.exit(main())
