"""Draw the training and validation loss of staged train.py runs into one figure.

Each run's LogReport ``log`` (JSON) is read in order; a run started with
``--init`` from the previous one continues its iteration count, so the curve
shows the whole history of a model trained in stages. The axes say what an
iteration and the loss were (``-b``, ``-l``, ``--loss``) where every run's
``args.json`` (train.py writes it beside its ``log``) tells them.

Usage: python3 scripts/plot_training.py result/log result2/log ... [-o result/loss_curve.png]

``-o`` (default ``result/loss_curve.png``, git-ignored) without an extension
gets ``.png``; the figure is written through a temporary file, so a failure
leaves an earlier one whole.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import matplotlib  # noqa: E402
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backend_bases import FigureCanvasBase  # noqa: E402
import cli  # noqa: E402
import util  # noqa: E402

PROG = 'plot_training.py'
KEYS = ('iteration', 'main/loss')     # what every LogReport entry must hold
VALIDATION_KEY = 'validation/main/loss'   # a number where an entry has it
DEFAULT_OUT = os.path.join('result', 'loss_curve.png')   # git-ignored, from the repository root
# The y axis: train.py logs the L1 whatever its --loss trains on (network.py)
L1_LABEL = 'L1 loss on normalised magnitudes'


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('logs', nargs='+',
                        help='train.py\'s LogReport files (RUN/log), in training order')
    parser.add_argument('--labels', nargs='+', help='one label per log (stage names)')
    parser.add_argument('--out', '-o', default=DEFAULT_OUT,
                        help='the figure; its extension gives the format, none: .png '
                             '(default: %(default)s, from the repository root)')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), draw, argv, audio=False)


def output_path(out):
    """``(path, format)`` of the figure ``-o out``: ``.png`` added when it has
    no extension; ``cli.UserError`` for a format matplotlib cannot write or a
    folder that does not exist."""
    path = out if os.path.splitext(out)[1] else out + '.png'
    fmt = os.path.splitext(path)[1][1:].lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if fmt not in formats:
        raise cli.UserError('-o {}: matplotlib cannot write .{} files; give one of {}'.format(
            out, fmt, ', '.join('.' + f for f in sorted(formats))))
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise cli.UserError('-o {}: the folder {} does not exist{}'.format(
            out, folder, '; run from the repository root or give -o' if out == DEFAULT_OUT
            else ''))
    return path, fmt


def read_log(path):
    """The entries of a LogReport ``log``: a non-empty JSON list of objects
    with a numeric ``iteration`` and ``main/loss``; ``cli.UserError`` naming
    the file otherwise."""
    try:
        with open(path) as handle:
            entries = json.load(handle)
    except OSError as err:
        raise cli.UserError('{}: {}'.format(path, err.strerror)) from None
    except ValueError as err:     # invalid JSON or UTF-8
        raise cli.UserError('{}: not a JSON LogReport log ({})'.format(path, err)) from None
    if not isinstance(entries, list):
        raise cli.UserError('{}: not a LogReport log (a JSON list of entries)'.format(path))
    if not entries:
        raise cli.UserError('{}: no entries yet (LogReport adds one each time the run '
                            'reports)'.format(path))
    for entry in entries:
        for key in KEYS:
            if not isinstance(entry, dict) or not is_number(entry.get(key)):
                raise cli.UserError('{}: an entry without a number for {} (is this train.py\'s '
                                    'LogReport log?)'.format(path, key))
        if VALIDATION_KEY in entry and not is_number(entry[VALIDATION_KEY]):
            raise cli.UserError('{}: iteration {}: {} is {}, not a number (is this train.py\'s '
                                'LogReport log?)'.format(path, entry['iteration'], VALIDATION_KEY,
                                                         json.dumps(entry[VALIDATION_KEY])[:40]))
    return entries


def run_settings(log):
    """``{'batchsize', 'patchlength', 'loss', 'communicator'}`` of the run
    whose ``log`` this is, from the ``args.json`` beside it; None where it
    is missing or does not hold them."""
    try:
        with open(os.path.join(os.path.dirname(log), 'args.json')) as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return None
    keys = ('batchsize', 'patchlength', 'loss', 'communicator')
    if not isinstance(record, dict) or not all(is_number(record.get(k)) for k in keys[:2]):
        return None
    return {k: record.get(k) for k in keys}


def axis_labels(logs):
    """``(x label, y label)``: an iteration's patches where every run's
    ``run_settings`` gives them alike, else plain 'iteration'; the y axis is
    the L1 train.py logs whatever its --loss (with no settings: 'loss')."""
    runs = [run_settings(log) for log in logs]
    if None in runs:
        return 'iteration', 'loss'
    shapes = {(r['batchsize'], r['patchlength'], bool(r['communicator'])) for r in runs}
    x_label = 'iteration'
    if len(shapes) == 1:
        (batch, length, parallel), = shapes
        x_label = 'iteration ({} patches of {} frames{})'.format(
            batch, length, ' per process' if parallel else ' each')
    return x_label, L1_LABEL


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def draw(args):
    """Draw the losses of ``args.logs`` into ``args.out``."""
    out, fmt = output_path(args.out)
    if cli.is_one_of(out, args.logs):
        raise cli.UserError('-o {}: is one of the logs; give another file'.format(out))
    if args.labels and len(args.labels) != len(args.logs):
        raise cli.UserError('--labels: {} label{} for {} log{}; give one per log'.format(
            len(args.labels), cli.plural(len(args.labels)), len(args.logs),
            cli.plural(len(args.logs))))
    logs = [read_log(path) for path in args.logs]
    fig, axis = plt.subplots(figsize=(8, 4.5))
    offset, train_x, train_y, val_x, val_y, borders = 0, [], [], [], [], []
    for entries in logs:
        for entry in entries:
            train_x.append(offset + entry['iteration'])
            train_y.append(entry['main/loss'])
            if VALIDATION_KEY in entry:
                val_x.append(offset + entry['iteration'])
                val_y.append(entry[VALIDATION_KEY])
        offset += entries[-1]['iteration']
        borders.append(offset)
    axis.plot(train_x, train_y, 'o-', label='main/loss (training)')
    axis.plot(val_x, val_y, 's-', label='validation/main/loss')
    for k, border in enumerate(borders[:-1]):
        axis.axvline(border, color='grey', linestyle=':', linewidth=1)
    labels = args.labels or ['run {}'.format(k + 1) for k in range(len(args.logs))]
    starts = [0] + borders[:-1]
    top = max([y for y in train_y + val_y if is_number(y) and math.isfinite(y)], default=1.0)
    for start, label in zip(starts, labels):
        axis.text(start, top, ' ' + label, va='top', fontsize=8, color='grey')
    axis.set_xlim(left=0)
    x_label, y_label = axis_labels(args.logs)
    axis.set_xlabel(x_label)
    axis.set_ylabel(y_label)
    axis.grid(alpha=0.3)
    axis.legend()
    fig.tight_layout()
    with util.replacing(out) as tmp:
        fig.savefig(tmp, dpi=80, format=fmt)
    plt.close(fig)
    print('wrote', out)


if __name__ == '__main__':
    sys.exit(main())
