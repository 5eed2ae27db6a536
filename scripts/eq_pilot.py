"""Input equalisation settings docs/MODEL.md tried ("A fifteenth session").

Runs evaluate.py with make_separate.py's ``--equalise boost`` replaced by
``equalising.equalised`` with other settings, read from the environment:

* ``OCTAVES``: the smoothing of the long-term shapes (default
  ``const.EQUALISE_OCTAVES``); the reference shape is
  ``const.EQUALISE_REFERENCE_DB``'s, smoothed over 1 octave, unless
  ``EQ_REFERENCE`` names an npy file of mean powers ``(512,)``
  (scripts/equalise_reference.py ``--save``), smoothed over ``OCTAVES``;
* ``LIMIT_DB``: the most a bin is raised (default
  ``const.EQUALISE_LIMIT_DB``);
* ``CUT=1``: bins are lowered too, down to ``-LIMIT_DB``.

Usage: OCTAVES=0.5 CUT=1 EQ_REFERENCE=build/eq_reference.npy \
    python3 scripts/eq_pilot.py -i build/val_eval -m unet.model --quick \
    --shifts 1 --speeds 1 --csv eq.csv
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cli  # noqa: E402
import const  # noqa: E402
import equalising  # noqa: E402
import evaluate  # noqa: E402

PROG = 'eq_pilot.py'
EPILOG = ('Environment: OCTAVES, the smoothing of the long-term shapes in octaves '
          '(default {}); EQ_REFERENCE, an npy file of mean powers (512,) whose shape, '
          'smoothed over OCTAVES, is the reference (scripts/equalise_reference.py --save; '
          'default: const.EQUALISE_REFERENCE_DB\'s, smoothed over 1 octave); LIMIT_DB, the '
          'most a bin is raised (default {}); CUT=1, bins lowered too, down to -LIMIT_DB. '
          'The options are evaluate.py\'s, with --equalise boost always, under these '
          'settings.'.format(const.EQUALISE_OCTAVES, const.EQUALISE_LIMIT_DB))


def settings(environ):
    """Keyword arguments of ``equalising.equalised`` from ``environ``."""
    octaves = float(environ.get('OCTAVES', const.EQUALISE_OCTAVES))
    ref_shape = None
    if environ.get('EQ_REFERENCE'):
        ref_shape = equalising.shape_db(np.load(environ['EQ_REFERENCE']),
                                        equalising.smoother(octaves))
    return dict(ref_shape=ref_shape, octaves=octaves,
                limit_db=float(environ.get('LIMIT_DB', const.EQUALISE_LIMIT_DB)),
                cut=environ.get('CUT') == '1')


def build_parser():
    """evaluate.py's options under this script's name, the settings'
    environment variables in the epilog."""
    return evaluate.pilot_parser(
        PROG, 'Score evaluate.py\'s items with the input equalised under '
        'other settings than make_separate.py --equalise boost\'s',
        EPILOG)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    return cli.main(PROG, build_parser(), equalised_evaluation, argv + ['--equalise', 'boost'])


def equalised_evaluation(args):
    """``evaluate.evaluate_main`` with ``equalising.equalised`` under the
    environment's settings; the function is put back after."""
    chosen = settings(os.environ)
    equalised = equalising.equalised
    return evaluate.evaluate_replaced(args, [
        (equalising, 'equalised', lambda mask_fn: equalised(mask_fn, **chosen))])


if __name__ == '__main__':
    sys.exit(main())
