"""How fast train.py --mix draws its examples: milliseconds of one loader.

``train.py --mix`` draws every example afresh (``mixing.MixingDataset``):
crops at a drawn speed, a room, an equaliser, the SNR, two STFTs. On the
H200 the processes that draw them, not the GPU, set the pace
(docs/SCALING.md: about 30 examples a second per loader). This times
``get_example`` in one process, as one loader runs it, for the recipes
below, on synthetic tracks made in memory (no corpus, no files, no model):

- ``plain``: the defaults (speed-perturbed speech, the SNR range, alone
  examples);
- ``shipped``: the recipe of the shipped model's last stages (music at a
  drawn speed from 0.9 to 1.1, half the examples through one random
  equaliser, three voices in ten in a room, SNRs from -15 dB, a tenth of
  the examples speech alone and a fifth music alone), with the waveforms
  the SNR losses need;
- the same without the room, and without the equaliser, to show what each
  costs.

Each recipe draws ``--warmup`` untimed examples, then ``--examples`` timed
ones; the figure is the process's CPU time per example (so it counts this
process's work only), the best of ``--repeats`` runs.

Usage: python benchmarks/example_speed.py
       python benchmarks/example_speed.py --markdown
       python benchmarks/example_speed.py -e 20 -r 1        (a smoke run)
"""
import argparse
import time

import numpy as np

import common

import compat  # noqa: E402,F401
import cli  # noqa: E402
import const  # noqa: E402
import mixing  # noqa: E402

PROG = 'example_speed.py'
SPEECH_TRACKS, MUSIC_TRACKS = 12, 8
TRACK_SECONDS = (6.0, 30.0)             # the synthetic tracks' lengths, drawn evenly

SHIPPED = dict(music_speed=(0.9, 1.1), balance_music=True, colour_mix=0.5, reverb=0.3,
               snr_db=(-15.0, 15.0), speech_alone=0.1, music_alone=0.2)
RECIPES = [
    ('plain', {}, False),
    ('shipped', SHIPPED, True),
    ('shipped, no room', dict(SHIPPED, reverb=0.0), True),
    ('shipped, no equaliser', dict(SHIPPED, colour_mix=0.0), True),
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description='Milliseconds per example of train.py --mix, one loader')
    parser.add_argument('--examples', '-e', type=int, default=300,
                        help='timed examples per run (default: %(default)s)')
    parser.add_argument('--repeats', '-r', type=int, default=3,
                        help='runs per recipe, the best reported (default: %(default)s)')
    parser.add_argument('--warmup', '-w', type=int, default=5,
                        help='untimed examples first (default: %(default)s)')
    parser.add_argument('--seed', '-s', type=int, default=0,
                        help='seed of the tracks and the example stream (default: %(default)s)')
    parser.add_argument('--markdown', action='store_true',
                        help='print the machine and table as markdown (docs/BENCHMARKS.md)')
    return parser


def main(argv=None):
    return cli.main(PROG, build_parser(), benchmark, argv)


def benchmark(args):
    if args.examples <= 0 or args.repeats <= 0 or args.warmup < 0:
        raise cli.UserError('--examples and --repeats must be at least 1 and --warmup '
                            'at least 0')
    settings = [('examples', '{} timed after {} untimed, best of {}'.format(
        args.examples, args.warmup, args.repeats)),
        ('tracks', '{} speech and {} music, {:g} to {:g} s, synthetic'.format(
            SPEECH_TRACKS, MUSIC_TRACKS, *TRACK_SECONDS))]
    if not args.markdown:
        common.print_machine(settings)
    speech, music, sources = synthetic_tracks(args.seed)
    rows = []
    for name, overrides, spectra in RECIPES:
        dataset = mixing.MixingDataset(speech, music, const.PATCH_LENGTH, args.examples,
                                       seed=args.seed, settings=mixing.MixSettings(**overrides),
                                       music_sources=sources, spectra=spectra)
        ms = min(time_examples(dataset, args, run) for run in range(args.repeats))
        print('{}: {:.2f} ms per example'.format(name, ms), flush=True)
        rows.append([name, 'yes' if spectra else 'no', '{:.2f}'.format(ms),
                     '{:.0f}'.format(1000.0 / ms)])
    print()
    common.print_table(['recipe', 'waveforms', 'ms/example', 'examples/s'], rows,
                       markdown=args.markdown)
    return 0


def time_examples(dataset, args, run):
    """CPU milliseconds per example of ``dataset`` over ``args.examples``
    examples of their own stretch of the stream (run ``run``)."""
    first = run * (args.examples + args.warmup)
    for i in range(first, first + args.warmup):
        dataset.get_example(i)
    started = time.process_time()
    for i in range(first + args.warmup, first + args.warmup + args.examples):
        dataset.get_example(i)
    return (time.process_time() - started) / args.examples * 1000.0


def synthetic_tracks(seed):
    """``(speech, music, music_sources)``: float32 tracks at 16 kHz of drawn
    lengths. Speech: a harmonic stack gliding about a drawn pitch, gated
    into syllables; music: two-note chords over noise bursts, from two
    sources."""
    rng = np.random.default_rng(seed)
    speech = [voice(rng, rng.uniform(*TRACK_SECONDS)) for _ in range(SPEECH_TRACKS)]
    music = [band(rng, rng.uniform(*TRACK_SECONDS)) for _ in range(MUSIC_TRACKS)]
    return speech, music, ['source{}'.format(k % 2) for k in range(MUSIC_TRACKS)]


def voice(rng, seconds):
    t = np.arange(int(seconds * const.SR)) / const.SR
    pitch = rng.uniform(90.0, 250.0)
    phase = 2 * np.pi * pitch * (t + 0.05 * np.sin(2 * np.pi * 0.7 * t) / (2 * np.pi * 0.7))
    stack = sum(np.sin(k * phase) / k for k in range(1, 9))
    return (0.3 * stack * (0.5 - 0.5 * np.cos(2 * np.pi * 4.0 * t))).astype(np.float32)


def band(rng, seconds):
    t = np.arange(int(seconds * const.SR)) / const.SR
    root = rng.uniform(110.0, 330.0) * (1 + 0.5 * ((t // 2.0) % 2))
    chord = sum(np.sin(2 * np.pi * k * f * t) / k for f in (root, 1.5 * root) for k in range(1, 5))
    bursts = rng.standard_normal(len(t)) * np.exp(-(t % 0.5) / 0.015)
    return (0.1 * chord + 0.2 * bursts).astype(np.float32)


if __name__ == '__main__':
    raise SystemExit(main())
