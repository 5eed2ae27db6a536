"""Where in frequency a model's speech estimate errs: SDR per octave band.

For every item of a folder (``NAME.wav`` with ``NAME.speech.wav`` and
``NAME.music.wav`` beside it, as ``make_dataset.py --refs`` writes them;
found and read as ``evaluate.py`` finds and reads them),
the speech estimate of the model (``make_separate.py``'s separator with
its ``--shifts``, ``--speeds`` and ``--equalise``) and of the ideal ratio
mask is scaled as SI-SDR scales it (projected on the clean speech); the
error's energy and the speech's are summed over all items in each octave
band of the STFT's bins (``EDGES_HZ``), and the table gives, per band and method, the SDR
(speech energy over error energy, dB), the band's share of the error and
of the speech energy.

Usage: python3 scripts/band_errors.py -i build/val_eval/snr0 -m unet.model \
    --shifts 1 --speeds 1
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402
import cli  # noqa: E402
import const  # noqa: E402
import evaluate  # noqa: E402
import make_separate  # noqa: E402
import util  # noqa: E402

PROG = 'band_errors.py'
EDGES_HZ = (0, 250, 500, 1000, 2000, 4000, const.SR // 2 + 1)   # octave bands (Hz)


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('--input', '-i', required=True,
                        help='folder of evaluation items (NAME.wav with NAME.speech.wav '
                             'and NAME.music.wav beside it, as make_dataset.py --refs '
                             'writes them)')
    parser.add_argument('--model', '-m', default=const.MODEL_FILE,
                        help='U-Net model (default: %(default)s)')
    parser.add_argument('--shifts', type=int, default=1, metavar='N',
                        help='separations averaged, their STFT frames offset, as '
                             'make_separate.py --shifts (default: %(default)s, fastest)')
    parser.add_argument('--speeds', type=float, nargs='+', default=[1.0], metavar='FACTOR',
                        help='speeds the mixture is also separated at and averaged, as '
                             'make_separate.py --speeds; 1 alone: the mixture as it is '
                             '(default: 1)')
    parser.add_argument('--equalise', choices=const.EQUALISE, default=const.EQUALISE[0],
                        help='the network input\'s spectrum, as make_separate.py '
                             '--equalise (default: %(default)s)')
    return parser


def band_of_bins(edges=EDGES_HZ):
    """The band index of each of the 513 STFT bins."""
    freqs = np.arange(const.N_BINS) * const.SR / const.FFT_SIZE
    return np.digitize(freqs, edges) - 1


def band_energies(estimate, speech, bands, n_bands):
    """``(speech energy, error energy)`` per band ``(2, n_bands)`` of an
    estimate scaled as SI-SDR scales it."""
    speech = np.asarray(speech, np.float64)
    reference = np.dot(estimate, speech) / max(np.dot(speech, speech), 1e-30) * speech
    spectra = [np.abs(util.stft(x.astype(np.float32))) ** 2
               for x in (reference, estimate - reference)]
    return np.array([[s[bands == b].sum() for b in range(n_bands)] for s in spectra])


def table(totals, edges=EDGES_HZ):
    """Markdown table of ``totals`` ``{method: (2, n_bands)}``."""
    names = ['{}-{} Hz'.format(edges[b], min(edges[b + 1], const.SR // 2))
             for b in range(len(edges) - 1)]
    lines = ['| measure | ' + ' | '.join(names) + ' |',
             '| --- |' + ' ---: |' * len(names)]
    for method, (speech, error) in totals.items():
        sdr = 10.0 * np.log10(np.maximum(speech, 1e-30) / np.maximum(error, 1e-30))
        lines.append('| {} SDR, dB | '.format(method) +
                     ' | '.join('{:.2f}'.format(v) for v in sdr) + ' |')
        lines.append('| {} share of the error, % | '.format(method) +
                     ' | '.join('{:.1f}'.format(v) for v in 100.0 * error / error.sum()) + ' |')
    speech = next(iter(totals.values()))[0]
    lines.append('| share of the speech, % | ' +
                 ' | '.join('{:.1f}'.format(v) for v in 100.0 * speech / speech.sum()) + ' |')
    return '\n'.join(lines)


def band_table(args):
    """Prints the table for the items in ``args.input``."""
    separator = make_separate.load_separator(args.model, shifts=args.shifts,
                                             speeds=args.speeds, equalise=args.equalise)
    bands, n_bands = band_of_bins(), len(EDGES_HZ) - 1
    totals = {'model': np.zeros((2, n_bands)), 'ideal ratio mask': np.zeros((2, n_bands))}
    items = evaluate.plan_items(evaluate.build_parser().parse_args(['-i', args.input]))
    for item in tqdm(items, desc='items', unit='item'):
        item.load()
        estimates = {'model': separator.separate(item.mixture)[0],
                     'ideal ratio mask': evaluate.oracle_speech(item.mixture, item.speech,
                                                                item.music, 'irm')}
        for method, estimate in estimates.items():
            totals[method] += band_energies(estimate, item.speech, bands, n_bands)
        item.release()
    print('{} item{} in {}, model {}'.format(len(items), cli.plural(len(items)), args.input,
                                            args.model))
    print(table(totals))


def main(argv=None):
    args = build_parser().parse_args(argv)
    return cli.run(PROG, lambda: band_table(args))


if __name__ == '__main__':
    sys.exit(main())
