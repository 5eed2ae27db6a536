"""A floor under the mask, tried in docs/MODEL.md ("A twenty-fourth
session") and not adopted.

Runs evaluate.py with each ``-m`` model scored as it separates and, beside
it, blended with the mixture: ``estimate + g (mixture - estimate)`` for
every ``g`` in ``FLOORS``. The estimate is the mixture under a soft mask
``m``, so this is the mixture under ``g + (1 - g) m``, a mask no lower
than ``g``; make_separate.py writes the same with ``--music-level`` at
``20 log10(g)`` dB. A floor gives back a share of whatever the mask
removed, the voice it cut and the music alike; the question is whether
the voice outweighs the music, and at which input SNRs.

Each mixture is separated once per model; the floored estimates are made
from it, so a run costs what the plain evaluation costs.

Usage: FLOORS="0.05 0.1 0.2" python3 scripts/floor_experiment.py \
    -i build/val_eval -m unet.model --quick --shifts 1 --speeds 1 --csv floor.csv
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import cli  # noqa: E402
import evaluate  # noqa: E402

PROG = 'floor_experiment.py'
DEFAULT_FLOORS = (0.05, 0.1, 0.2)
EPILOG = ('Environment: FLOORS, the shares of the mixture left under each model\'s '
          'estimate, space-separated, each between 0 and 1 (default: "{}"); each model is '
          'scored plain and with each floor. The options are evaluate.py\'s.'.format(
              ' '.join('{:g}'.format(f) for f in DEFAULT_FLOORS)))


class FlooredMethod:
    """``base``'s estimate with the mixture ``floor`` (a share, 0 to 1)
    under it; reads the estimate ``base`` made for the same item."""

    def __init__(self, base, floor):
        self.base, self.floor = base, floor
        self.label = '{}+floor{:g}'.format(base.label, floor)

    def describe(self):
        return '{} with {:g} of the mixture left under the speech'.format(
            self.base.label, self.floor)

    def estimate(self, item):
        speech = self.base.last_estimate(item)
        return speech + self.floor * (item.mixture - speech)


class RememberingMethod:
    """A method whose last estimate the floored ones reuse."""

    def __init__(self, method):
        self.method = method
        self.label = method.label
        self.item = self.speech = None

    def describe(self):
        return self.method.describe()

    def estimate(self, item):
        self.item, self.speech = item, self.method.estimate(item)
        return self.speech

    def last_estimate(self, item):
        if item is not self.item:      # evaluate_item scores the plain method first
            self.estimate(item)
        return self.speech


def floors_from_environment():
    """The floors in ``$FLOORS`` (space-separated shares), or the defaults."""
    text = os.environ.get('FLOORS', '').split()
    try:
        floors = tuple(float(value) for value in text) or DEFAULT_FLOORS
        shares = all(0 < floor < 1 for floor in floors)
    except ValueError:          # not a number
        shares = False
    if not shares:
        sys.exit('floor_experiment.py: FLOORS must be shares between 0 and 1, e.g. "0.05 0.1"')
    return floors


def with_floors(build_methods, floors):
    """``evaluate.build_methods`` with each model followed by its floored
    versions."""
    def build(args):
        methods = []
        for method in build_methods(args):
            if isinstance(method, evaluate.ModelMethod):
                plain = RememberingMethod(method)
                methods.append(plain)
                methods.extend(FlooredMethod(plain, floor) for floor in floors)
            else:
                methods.append(method)
        return methods
    return build


def build_parser():
    """evaluate.py's options under this script's name, FLOORS in the epilog."""
    return evaluate.pilot_parser(
        PROG, 'Score evaluate.py\'s items with each model\'s estimate plain and '
        'with a floor of the mixture under it (a pilot, not adopted)',
        EPILOG)


def main(argv=None):
    return cli.main(PROG, build_parser(), floored_evaluation, argv)


def floored_evaluation(args):
    """``evaluate.evaluate_main`` with each model followed by its floored
    versions; ``evaluate.build_methods`` is put back after."""
    return evaluate.evaluate_replaced(args, [
        (evaluate, 'build_methods',
         with_floors(evaluate.build_methods, floors_from_environment()))])


if __name__ == '__main__':
    sys.exit(main())
