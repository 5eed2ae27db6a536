"""Make the README's samples (and, asked, a spectrogram figure) from held-out mixtures.

Takes mixtures written by ``make_dataset.py --refs`` (speakers and music
held out of training), cuts from each the ``--seconds`` where the speech is
loudest, writes the cut mixture to ``mixdown/sampleK.wav`` (16-bit wav), separates it
with the model into ``separate/sampleK.wav`` (tracked; ``make`` writes the same
separation to ignored ``separate/out/``), and with ``--figure PNG`` draws the
first sample's mixture, estimated speech and reference speech spectrograms
one above the other into that file.

Every input, its reference (``NAME.speech.EXT``, any audio type, found as
evaluate.py finds it; of the mixture's length), the model, the options and
the outputs (none on an input or on another) are checked, and the samples
cut, before anything is written: a mistake is one line and leaves the sample
set as it was. The new set is written and separated in hidden folders
beside the old, and the figure drawn into a hidden file beside its own,
and only then renamed into place, so that a failure part-way (a full disk)
leaves the old set and figure whole. ``sampleK.wav`` of an earlier, larger
set (K above this run's count) is removed from both folders, so that
``make`` separates this set alone. A Ctrl-C or SIGTERM while the set is
renamed in and those removed waits until that is done, then stops the run.

Usage: python3 scripts/make_samples.py build/eval/snr0/NAME.wav [...] [-m unet.model]
                                       [--figure build/example.png]
"""
import argparse
import math
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import numpy as np  # noqa: E402
import cli  # noqa: E402
import const  # noqa: E402
import evaluate  # noqa: E402
import make_separate  # noqa: E402
import util  # noqa: E402

PROG = 'make_samples.py'
SAMPLE_NAME = re.compile(r'^sample([1-9][0-9]*)\.wav$')    # sampleK.wav as this script names them


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('mixtures', nargs='+',
                        help='held-out mixtures NAME.wav (any audio type) with their '
                             'reference NAME.speech.wav beside them, as make_dataset.py '
                             '--refs writes them')
    parser.add_argument('--model', '-m', default=const.MODEL_FILE,
                        help='U-Net model that separates the samples (default: %(default)s)')
    parser.add_argument('--seconds', type=float, default=10.0,
                        help='length of each sample, cut where the speech is loudest '
                             '(default: %(default)s)')
    parser.add_argument('--mixdown', default=const.PATH_MIXDOWN, metavar='DIR',
                        help='folder of the cut mixtures sampleK.wav (default: %(default)s)')
    parser.add_argument('--separate', default=const.PATH_SEPARATE, metavar='DIR',
                        help='folder of their separations sampleK.wav (default: %(default)s)')
    parser.add_argument('--figure', default=None, metavar='PNG',
                        help='also draw the first sample\'s spectrograms into this file')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def loudest_window(speech, length):
    """Start (samples) of the ``length``-sample window with most speech energy."""
    if len(speech) <= length:
        return 0
    energy = np.concatenate([[0.0], np.cumsum(speech.astype(np.float64) ** 2)])
    sums = energy[length:] - energy[:-length]
    return int(np.argmax(sums[::const.H]) * const.H)


def sample_length(seconds):
    """``--seconds`` in samples; ``cli.UserError`` unless at least one."""
    if not (math.isfinite(seconds) and seconds * const.SR >= 1):
        raise cli.UserError('--seconds {:g}: the length of each sample must be a positive '
                            'number of seconds'.format(seconds))
    return int(seconds * const.SR)


def cut_sample(path, length):
    """``(name, mixture, speech, reference path)``: ``length`` samples cut
    from a mixture and its reference where the speech is loudest.
    ``cli.UserError`` when the reference is missing, ``util.AudioError``
    when the mixture is empty or the reference is not of its length
    (``evaluate.Item.load``)."""
    stem = os.path.splitext(path)[0]
    reference = evaluate.beside(stem + const.REFERENCE_TAGS[0])
    if reference is None:
        if not os.path.isfile(path):
            util.audio_info(path)       # a missing mixture (a folder, a FIFO) named first
        raise cli.UserError('{0}: no reference {1}.wav beside it, nor {1} of another audio '
                            'type (make_dataset.py --refs writes one)'.format(
                                path, stem + const.REFERENCE_TAGS[0]))
    item = evaluate.Item(os.path.basename(stem), path, reference, None, None)
    item.load()
    start = loudest_window(item.speech, length)
    return (item.name, item.mixture[start:start + length], item.speech[start:start + length],
            reference)


def check_outputs(outputs, inputs):
    """``cli.UserError`` for an output ``(option, path)`` that is one of the
    files ``inputs``, is a folder, or is another output (``--mixdown X
    --separate X`` wrote each estimate over its cut mixture)."""
    for k, (option, path) in enumerate(outputs):
        if cli.is_one_of(path, inputs):
            raise cli.UserError('{}{}: the output is one of the inputs'.format(
                '--figure ' if option == '--figure' else '', path))
        if os.path.isdir(path):
            raise cli.UserError('{} {}: is a folder'.format(option, path))
        for other, earlier in outputs[:k]:
            if cli.is_one_of(path, [earlier]):
                raise cli.UserError('{} and {} both write {}; give each its own '
                                    'path'.format(other, option, path))


def stale_samples(folders, count):
    """The ``sampleK.wav`` files in ``folders`` with K above ``count``: an
    earlier, larger set's, which ``make`` would separate with this one."""
    stale = []
    for folder in folders:
        names = os.listdir(folder) if os.path.isdir(folder) else []
        stale += [os.path.join(folder, name) for name in sorted(names)
                  if SAMPLE_NAME.match(name) and int(SAMPLE_NAME.match(name).group(1)) > count
                  and os.path.isfile(os.path.join(folder, name))]
    return stale


def pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def figure_format(figure):
    """The matplotlib format of ``--figure``'s extension; ``cli.UserError``
    for one it cannot write."""
    from matplotlib.backend_bases import FigureCanvasBase
    formats = FigureCanvasBase.get_supported_filetypes()
    fmt = os.path.splitext(figure)[1][1:].lower()
    if fmt not in formats:
        raise cli.UserError('--figure {}: not a format matplotlib writes; give one of {}'.format(
            figure, ', '.join('.' + f for f in sorted(formats))))
    return fmt


def plot(figure, path, name, panels):
    """Draw ``panels`` (``(title, audio)``, one above the other) into
    ``path``, in ``figure``'s format: the temporary that becomes
    ``figure``, which write failures name."""
    plt = pyplot()
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 7), sharex=True)
    for axis, (title, audio) in zip(axes, panels):
        magnitude = util.magnitude(audio)
        db = 20 * np.log10(np.maximum(magnitude, 1e-5))
        seconds = len(audio) / const.SR
        image = axis.imshow(db, origin='lower', aspect='auto', cmap='magma',
                            vmin=db.max() - 80, vmax=db.max(),
                            extent=(0, seconds, 0, const.SR / 2000))
        axis.set_title(title, fontsize=10)
        axis.set_ylabel('kHz')
    axes[-1].set_xlabel('seconds')
    fig.colorbar(image, ax=axes, label='dB', shrink=0.8)
    fig.suptitle(name, fontsize=9)
    try:
        with util.writing(figure):
            fig.savefig(path, dpi=80, format=figure_format(figure))
    finally:
        plt.close(fig)


def main(argv=None):
    return cli.main(PROG, build_parser(), make_samples, argv)


def make_samples(args):
    """Cut, write and separate the samples of ``args.mixtures``."""
    length = sample_length(args.seconds)
    if args.figure:
        figure_format(args.figure)
    separator = make_separate.load_separator(args.model)
    samples = [cut_sample(path, length) for path in args.mixtures]
    names = ['sample{}.wav'.format(k + 1) for k in range(len(samples))]
    folders = {'--mixdown': args.mixdown, '--separate': args.separate}
    outputs = [(option, os.path.join(folder, name)) for option, folder in folders.items()
               for name in names] + ([('--figure', args.figure)] if args.figure else [])
    inputs = args.mixtures + [reference for *_, reference in samples] + [args.model]
    check_outputs(outputs, inputs)      # every output checked before any folder is made
    stale = stale_samples(folders.values(), len(names))
    for path in stale:
        if cli.is_one_of(path, inputs):
            raise cli.UserError('{}: an input, but also a sample of an earlier set that this '
                                'one replaces; copy it elsewhere first'.format(path))
    for _, path in outputs:
        cli.prepare_output(path, True)
    staging = {}
    figure = util.temporary_path(args.figure) if args.figure else None
    try:
        for option, folder in folders.items():
            with util.writing(folder or '.'):
                staging[option] = tempfile.mkdtemp(prefix='.samples.', suffix='.partial',
                                                   dir=folder or '.')
        write_set(args, separator, samples, names, staging, figure)
        with interrupts.held_stops():     # the whole set is ready: renamed in at once
            for name in names:
                for option, folder in folders.items():
                    with util.writing(os.path.join(folder, name)):
                        os.replace(os.path.join(staging[option], name),
                                   os.path.join(folder, name))
            if figure:
                with util.writing(args.figure):
                    os.replace(figure, args.figure)
            for path in stale:
                with util.writing(path):
                    os.remove(path)
    finally:
        for folder in staging.values():
            shutil.rmtree(folder, ignore_errors=True)
        if figure and os.path.lexists(figure):
            os.remove(figure)
    for name in names:
        print('wrote', os.path.join(args.mixdown, name), 'and',
              os.path.join(args.separate, name))
    if args.figure:
        print('wrote', args.figure)
    if stale:
        print('removed {} (an earlier set\'s sample{} beyond this set\'s {})'.format(
            ', '.join(stale), cli.plural(len(stale)), len(names)))


def write_set(args, separator, samples, names, staging, figure):
    """Write the cut mixtures and their separations into the ``staging``
    folders (``{'--mixdown': folder, '--separate': folder}``), and draw
    ``args.figure`` of the first into ``figure``, its temporary."""
    for k, (name, (source, mixture, speech, _)) in enumerate(zip(names, samples)):
        print('{}: {:g} s from {}'.format(os.path.splitext(name)[0], len(mixture) / const.SR,
                                          source))
        mix_path = os.path.join(staging['--mixdown'], name)
        out_path = os.path.join(staging['--separate'], name)
        util.write_audio(mix_path, mixture, subtype='PCM_16')
        mixture = util.load_audio(mix_path)          # exactly what users will separate
        make_separate.separate_file(mix_path, out_path, separator)
        if k == 0 and args.figure:
            estimate = util.load_audio(out_path)
            plot(args.figure, figure, source, [
                ('mixture', mixture),
                ('estimated speech ({})'.format(os.path.basename(args.model)), estimate),
                ('reference speech', speech)])


if __name__ == '__main__':
    sys.exit(main())
