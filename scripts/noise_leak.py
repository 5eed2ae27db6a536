"""How much synthetic noise percussion a model lets through as speech.

Separates ``--items`` noise-percussion loops of ``--seconds`` each
(noise_loops.py, drawn from seeds ``--seed``, ``--seed + 1``, ... with
generators of their own, so none is a training example) at a peak of
-6 dBFS, with make_separate.py's default settings, and prints each model's
output energy relative to its input (dB: mean and worst), as evaluate.py
reports music alone. Lower is better; -25 dB is the bar docs/MODEL.md sets
for real music.

Usage: python3 scripts/noise_leak.py unet.model [result/model_N ...]
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import numpy as np  # noqa: E402
import compat  # noqa: E402,F401  (before chainer)
import cli  # noqa: E402
import const  # noqa: E402
import evaluate  # noqa: E402
import make_separate  # noqa: E402
import noise_loops  # noqa: E402

PROG = 'noise_leak.py'
MIN_SECONDS = 0.01      # shorter loops are a few samples, some silent (a NaN leak)


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='+', metavar='MODEL',
                        help='U-Net models, each measured on the same loops')
    parser.add_argument('--items', type=int, default=30,
                        help='noise-percussion loops (default: %(default)s)')
    parser.add_argument('--seconds', type=float, default=12.0,
                        help='length of each loop (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=20261126,
                        help='seed of the first loop; the next loops take the seeds after '
                             'it (default: %(default)s)')
    return parser


def items(count, seconds, seed):
    """``count`` loops of ``seconds`` at a peak of -6 dBFS."""
    n = int(seconds * const.SR)
    return [0.5 * noise_loops.noise_loop(np.random.default_rng([seed + k, 7]), n)
            for k in range(count)]


def leak_db(separator, loop):
    """What ``separator`` keeps of ``loop`` as speech, in dB (evaluate.py's
    music-alone measure)."""
    return evaluate.level_db(separator.separate(loop)[0], loop)


def main(argv=None):
    return cli.main(PROG, build_parser(), measure, argv)


def measure(args):
    """Print each model's leak over the loops of ``args``."""
    if args.items < 1:
        raise cli.UserError('--items {}: must be at least 1'.format(args.items))
    if not (math.isfinite(args.seconds) and args.seconds >= MIN_SECONDS):
        raise cli.UserError('--seconds {}: must be a finite length of at least {:g} s'.format(
            args.seconds, MIN_SECONDS))
    loops = items(args.items, args.seconds, args.seed)
    print('{} noise-percussion loops of {} s (seed {})'.format(args.items, args.seconds, args.seed))
    for model in args.models:
        separator = make_separate.load_separator(model)
        leaks = [leak_db(separator, loop) for loop in loops]
        print('{}: mean {:.1f} dB, worst {:.1f} dB'.format(model, np.mean(leaks), max(leaks)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
