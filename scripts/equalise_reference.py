"""Prints ``const.EQUALISE_REFERENCE_DB``: the mean long-term spectral shape
of training examples drawn as ``train.py --mix`` with the options of
``const.REFERENCE_MIXING`` draws them (``train.mixing_dataset``).

Each example's mean power per bin is scaled to sum to 1 (so loud and quiet
examples weigh alike), the mean over examples is smoothed as
``equalising.shape_db`` smooths a patch (``const.EQUALISE_OCTAVES``), and the
shape is printed at third-octave points from the lowest network bin
(15.6 Hz) to 8 kHz, for const.py.

Usage: python3 scripts/equalise_reference.py -s music_speech/speech_wav \
    -m music_speech/music_wav [--examples 1500] [--seed 5] [--save POWER.npy]
(the shipped table: the corpus's training side, stage 21's mixing options)
"""
import argparse
import os
import sys

import numpy as np
from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import const  # noqa: E402
import equalising  # noqa: E402
import train  # noqa: E402

PROG = 'equalise_reference.py'
POINTS_PER_OCTAVE = 3
EXAMPLES = 1500


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='Print const.EQUALISE_REFERENCE_DB: the mean long-term '
                               'spectral shape of training examples')
    parser.add_argument('-s', '--speech', default=const.PATH_SPEECH,
                        help='speech folder (default: %(default)s)')
    parser.add_argument('-m', '--music', default=const.PATH_MUSIC,
                        help='music folder (default: %(default)s)')
    parser.add_argument('-n', '--examples', type=int, default=EXAMPLES,
                        help='examples drawn (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=5,
                        help='seed of the examples drawn (default: %(default)s)')
    parser.add_argument('--save', default=None, metavar='NPY',
                        help='also save the mean power per bin (512,) here '
                             '(scripts/eq_pilot.py EQ_REFERENCE)')
    return parser


def mean_power(dataset, examples):
    """Mean over the first ``examples`` of ``dataset``'s mixtures (indices past
    its epoch draw new examples, as in training) of their per-bin mean
    power ``(512,)``, each summing to 1; silent examples skipped."""
    total, count = np.zeros(const.NET_BINS), 0
    for i in tqdm(range(examples), desc='examples', unit='ex'):
        mixture = dataset.get_example(i)[0][0].astype(np.float64)
        power = (mixture ** 2).mean(axis=1)
        if power.sum() > 0.0:
            total += power / power.sum()
            count += 1
    if not count:
        raise SystemExit('equalise_reference.py: every example drawn was silent')
    return total / count


def table(power, octaves=const.EQUALISE_OCTAVES):
    """``((Hz, dB), ...)`` of ``power``'s shape at third-octave points."""
    shape = equalising.shape_db(power, equalising.smoother(octaves))
    lowest, highest = equalising.FREQS[0], equalising.FREQS[-1]
    points = lowest * 2.0 ** (np.arange(int(round(
        np.log2(highest / lowest) * POINTS_PER_OCTAVE)) + 1) / POINTS_PER_OCTAVE)
    values = np.interp(np.log2(points), np.log2(equalising.FREQS), shape)
    return tuple((round(float(hz), 1), round(float(db), 1) + 0.0) for hz, db in zip(points, values))


def main(argv=None):
    args = build_parser().parse_args(argv)
    dataset, _ = train.mixing_dataset(train.mixing_args(
        const.REFERENCE_MIXING.split(), args.speech, args.music, args.seed))
    power = mean_power(dataset, args.examples)
    if args.save:
        np.save(args.save, power)
    rows = table(power)
    print('EQUALISE_REFERENCE_DB = (')
    for k in range(0, len(rows), 4):
        print('    ' + ' '.join('({}, {}),'.format(hz, db) for hz, db in rows[k:k + 4]))
    print(')')
    return 0


if __name__ == '__main__':
    sys.exit(main())
