"""Make the README's samples (and, asked, a spectrogram figure) from held-out mixtures.

Takes mixtures written by ``make_dataset.py --refs`` (speakers and music
held out of training), cuts from each the ``--seconds`` where the speech is
loudest, writes the cut mixture to ``mixdown/sampleK.wav`` (16-bit wav), separates it
with the model into ``separate/sampleK.wav`` (tracked; ``make`` writes the same
separation to ignored ``separate/out/``), and with ``--figure PNG`` draws the
first sample's mixture, estimated speech and reference speech spectrograms
one above the other into that file.

Usage: python3 scripts/make_samples.py build/eval/snr0/NAME.wav [...] [-m unet.model]
                                       [--figure build/example.png]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import const  # noqa: E402
import make_separate  # noqa: E402
import util  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('mixtures', nargs='+', help='NAME.wav files with NAME.speech.wav beside')
    parser.add_argument('--model', '-m', default=const.MODEL_FILE)
    parser.add_argument('--seconds', type=float, default=10.0, help='length of each sample')
    parser.add_argument('--mixdown', default=const.PATH_MIXDOWN)
    parser.add_argument('--separate', default=const.PATH_SEPARATE)
    parser.add_argument('--figure', default=None, metavar='PNG',
                        help='also draw the first sample\'s spectrograms into this file')
    return parser


def loudest_window(speech, length):
    """Start (samples) of the ``length``-sample window with most speech energy."""
    if len(speech) <= length:
        return 0
    energy = np.concatenate([[0.0], np.cumsum(speech.astype(np.float64) ** 2)])
    sums = energy[length:] - energy[:-length]
    return int(np.argmax(sums[::const.H]) * const.H)


def cut_sample(path, seconds):
    """``(name, mixture, speech)`` cut from a mixture and its reference."""
    base = os.path.splitext(path)[0]
    mixture, speech = util.load_audio(path), util.load_audio(base + '.speech.wav')
    length = int(seconds * const.SR)
    start = loudest_window(speech, length)
    return os.path.basename(base), mixture[start:start + length], speech[start:start + length]


def plot(figure, name, panels):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 7), sharex=True)
    for axis, (title, signal) in zip(axes, panels):
        magnitude = util.magnitude(signal)
        db = 20 * np.log10(np.maximum(magnitude, 1e-5))
        seconds = len(signal) / const.SR
        image = axis.imshow(db, origin='lower', aspect='auto', cmap='magma',
                            vmin=db.max() - 80, vmax=db.max(),
                            extent=(0, seconds, 0, const.SR / 2000))
        axis.set_title(title, fontsize=10)
        axis.set_ylabel('kHz')
    axes[-1].set_xlabel('seconds')
    fig.colorbar(image, ax=axes, label='dB', shrink=0.8)
    fig.suptitle(name, fontsize=9)
    fig.savefig(figure, dpi=80)


def main(argv=None):
    args = build_parser().parse_args(argv)
    separator = make_separate.load_separator(args.model)
    os.makedirs(args.mixdown, exist_ok=True)
    os.makedirs(args.separate, exist_ok=True)
    for k, path in enumerate(args.mixtures):
        source, mixture, speech = cut_sample(path, args.seconds)
        name = 'sample{}'.format(k + 1)
        print('{}: {} s from {}'.format(name, args.seconds, source))
        mix_path = os.path.join(args.mixdown, name + '.wav')
        out_path = os.path.join(args.separate, name + '.wav')
        util.write_audio(mix_path, mixture, subtype='PCM_16')
        mixture = util.load_audio(mix_path)          # exactly what users will separate
        if os.path.exists(out_path):
            os.remove(out_path)
        make_separate.separate_file(mix_path, out_path, separator)
        print('wrote', mix_path, 'and', out_path)
        if k == 0 and args.figure:
            estimate = util.load_audio(out_path)
            plot(args.figure, source, [('mixture', mixture),
                                     ('estimated speech ({})'.format(os.path.basename(args.model)), estimate),
                                     ('reference speech', speech)])
            print('wrote', args.figure)


if __name__ == '__main__':
    main()
