"""Average the weights of several U-Net checkpoints into one model.

Checkpoints from the end of one run, taken while the learning rate falls,
lie near each other; their mean (weights and batch-normalisation running
statistics alike) is often a little better than any one of them (Izmailov
et al. 2018, "Averaging weights leads to wider optima"). Check the result
with evaluate.py before shipping it.

``--weights`` gives each model its share instead (summing to 1). A negative
share walks past a model: stage 53, the half-and-half mean of stage 43 and
stage 52's mean, gives stage 52's mean back with ``unet.model <stage 43>
--weights 2 -1`` (docs/MODEL.md).

Usage: python3 scripts/average_models.py result/model_A result/model_B [...] -o averaged.model
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import numpy as np  # noqa: E402
import compat  # noqa: E402,F401  (before chainer: NumPy 2 / Python 3.12 shims)
import chainer  # noqa: E402
import cli  # noqa: E402
import network  # noqa: E402
import util  # noqa: E402

PROG = 'average_models.py'


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='+', help='models or trainer snapshots to average')
    parser.add_argument('--out', '-o', required=True, help='the averaged model (npz)')
    parser.add_argument('--weights', type=float, nargs='+', default=None, metavar='W',
                        help='share of each model, in their order, summing to 1; negative '
                             'shares extrapolate (default: equal shares)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), average, argv, audio=False)


def average(args):
    shares = model_shares(args.weights, len(args.models))
    cli.prepare_output(args.out, args.overwrite, inputs=args.models)
    unets = [network.load_unet(path) for path in args.models]
    powers = sorted({unet.input_power for unet in unets})
    if len(powers) > 1:
        raise cli.UserError('cannot average models fed different inputs (input powers {}): '
                            'their weights mean different things'.format(
                                ', '.join('{:g}'.format(p) for p in powers)))
    arrays = weighted_arrays([weights(unet) for unet in unets], shares)
    check_variances(arrays)
    unet = network.UNet(input_power=powers[0])
    chainer.serializers.NpzDeserializer(arrays).load(unet)
    with util.replacing(args.out) as tmp:
        chainer.serializers.save_npz(tmp, unet)
    print('averaged {} model{}{} into {}'.format(
        len(args.models), cli.plural(len(args.models)), '' if args.weights is None else ' (shares {})'.format(
            ', '.join('{:g}'.format(w) for w in shares)), args.out))
    return 0


def weights(unet):
    """``{key: array}`` of a U-Net's parameters and persistent values."""
    serializer = chainer.serializers.DictionarySerializer()
    serializer.save(unet)
    return serializer.target


def model_shares(weights, count):
    """Each of ``count`` models' share: ``weights`` checked, or equal shares."""
    if weights is None:
        return [1.0 / count] * count
    if len(weights) != count:
        raise cli.UserError('--weights: {} given for {} models; give one per model'.format(
            len(weights), count))
    if not all(np.isfinite(weights)) or abs(sum(weights) - 1.0) > 1e-6:
        raise cli.UserError('--weights {}: the shares must be finite and sum to 1'.format(
            ' '.join('{:g}'.format(w) for w in weights)))
    return list(weights)


def weighted_arrays(dicts, shares):
    """Key-wise sum of float arrays times their ``shares`` (float64, then
    back to each array's type); other values (counters) from the first."""
    out = {}
    for key in dicts[0]:
        values = [np.asarray(d[key]) for d in dicts]
        if np.issubdtype(values[0].dtype, np.floating):
            total = sum(share * v.astype(np.float64) for share, v in zip(shares, values))
            out[key] = total.astype(values[0].dtype)
        else:
            out[key] = values[0]
    return out


def check_variances(arrays):
    """Refuse a result whose batch-normalisation running variance is
    negative (or NaN) somewhere: only negative shares can bring that about."""
    for key, value in arrays.items():
        if key.endswith('avg_var') and not np.all(value >= 0):
            raise cli.UserError('these shares give {} a negative variance; '
                                'extrapolate less far'.format(key))


if __name__ == '__main__':
    sys.exit(main())
