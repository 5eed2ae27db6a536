"""Average the weights of several U-Net checkpoints into one model.

Checkpoints from the end of one run, taken while the learning rate falls,
lie near each other; their mean (weights and batch-normalisation running
statistics alike) is often a little better than any one of them (Izmailov
et al. 2018, "Averaging weights leads to wider optima"). Check the result
with evaluate.py before shipping it.

Usage: python3 scripts/average_models.py result/model_A result/model_B [...] -o averaged.model
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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
    parser.add_argument('--overwrite', action='store_true', help='replace an existing --out')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), average, argv)


def average(args):
    cli.prepare_output(args.out, args.overwrite, inputs=args.models)
    unets = [network.load_unet(path) for path in args.models]
    powers = sorted({unet.input_power for unet in unets})
    if len(powers) > 1:
        raise cli.UserError('cannot average models fed different inputs (input powers {}): '
                            'their weights mean different things'.format(
                                ', '.join('{:g}'.format(p) for p in powers)))
    arrays = [weights(unet) for unet in unets]
    unet = network.UNet(input_power=powers[0])
    chainer.serializers.NpzDeserializer(mean_arrays(arrays)).load(unet)
    with util.replacing(args.out) as tmp:
        chainer.serializers.save_npz(tmp, unet)
    print('averaged {} models into {}'.format(len(args.models), args.out))
    return 0


def weights(unet):
    """``{key: array}`` of a U-Net's parameters and persistent values."""
    serializer = chainer.serializers.DictionarySerializer()
    serializer.save(unet)
    return serializer.target


def mean_arrays(dicts):
    """Key-wise mean of float arrays; other values (counters) from the first."""
    out = {}
    for key, first in dicts[0].items():
        values = [np.asarray(d[key]) for d in dicts]
        if np.issubdtype(values[0].dtype, np.floating):
            out[key] = np.mean(values, axis=0).astype(values[0].dtype)
        else:
            out[key] = values[0]
    return out


if __name__ == '__main__':
    sys.exit(main())
