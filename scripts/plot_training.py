"""Draw docs/loss.png: training and validation loss over several train.py runs.

Each run's LogReport ``log`` (JSON) is read in order; a run started with
``--init`` from the previous one continues its iteration count, so the curve
shows the whole history of a model trained in stages.

Usage: python3 scripts/plot_training.py result/log result2/log ... [-o docs/loss.png]
"""
import argparse
import json

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('logs', nargs='+', help='LogReport files, in training order')
    parser.add_argument('--labels', nargs='+', help='one label per log (stage names)')
    parser.add_argument('--out', '-o', default='docs/loss.png')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    fig, axis = plt.subplots(figsize=(8, 4.5))
    offset, train_x, train_y, val_x, val_y, borders = 0, [], [], [], [], []
    for path in args.logs:
        with open(path) as handle:
            entries = json.load(handle)
        for entry in entries:
            train_x.append(offset + entry['iteration'])
            train_y.append(entry['main/loss'])
            if 'validation/main/loss' in entry:
                val_x.append(offset + entry['iteration'])
                val_y.append(entry['validation/main/loss'])
        offset += entries[-1]['iteration'] if entries else 0
        borders.append(offset)
    axis.plot(train_x, train_y, 'o-', label='main/loss (training)')
    axis.plot(val_x, val_y, 's-', label='validation/main/loss')
    for k, border in enumerate(borders[:-1]):
        axis.axvline(border, color='grey', linestyle=':', linewidth=1)
    labels = args.labels or ['run {}'.format(k + 1) for k in range(len(args.logs))]
    starts = [0] + borders[:-1]
    top = max(train_y + val_y)
    for start, label in zip(starts, labels):
        axis.text(start, top, ' ' + label, va='top', fontsize=8, color='grey')
    axis.set_xlim(left=0)
    axis.set_xlabel('iteration (16 patches of 128 frames each)')
    axis.set_ylabel('L1 loss on normalised magnitudes')
    axis.grid(alpha=0.3)
    axis.legend()
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print('wrote', args.out)


if __name__ == '__main__':
    main()
