"""Evaluation items heard through another channel (telephone, dull, boomy...).

Copies a folder of evaluation items (``make_dataset.py --refs``: each
subfolder holds ``NAME.wav``, ``NAME.speech.wav``, ``NAME.music.wav`` and
``manifest.csv``) with both references passed through the same fixed
zero-phase filter (``colouring.curve_db``) and the mixture remade as their
sum. The music is scaled so that the speech-to-music power ratio stays the
item's (``manifest.csv`` still groups it), and both so that the mixture
keeps its level. ``evaluate.py -i OUT`` then says how much a model loses
when the speech and music it hears come through a channel unlike the
corpus's recordings. The channels lie partly outside what ``train.py
--colour`` draws (a steeper tilt, a higher high-pass, a larger boost).

Usage: python3 scripts/channel_items.py -i build/val_eval -o build/val_channels \
           --channel mixed        (or telephone, dull, ...: one for every item)
"""
import argparse
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import colouring  # noqa: E402
import const  # noqa: E402
import util  # noqa: E402

SPEECH_TAG, MUSIC_TAG = const.REFERENCE_TAGS    # '.speech', '.music'
MIXED = 'mixed'

# name: curve_db settings (tilt dB/octave, bands (Hz, octaves, dB), band limit Hz)
CHANNELS = {
    'telephone': dict(band_limit=(300.0, 3400.0)),
    'small-speaker': dict(bands=[(1500.0, 1.0, 6.0)], band_limit=(450.0, 7000.0)),
    'dull': dict(tilt=-4.0),
    'bright': dict(tilt=4.0, bands=[(5000.0, 1.5, 6.0)]),
    'boomy': dict(bands=[(150.0, 1.5, 12.0)]),
}


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--input', '-i', required=True, help='folder of evaluation items')
    parser.add_argument('--output', '-o', required=True, help='new folder (must not exist)')
    parser.add_argument('--channel', '-c', required=True, choices=sorted(CHANNELS) + [MIXED],
                        help='one channel for every item, or "mixed": the channels '
                             'in turn, item by item of each folder')
    return parser


def power(signal):
    return float(np.mean(np.square(signal, dtype=np.float64)))


def through_channel(speech, music, mixture, curve):
    """``(speech, music, mixture)`` through ``curve`` (``colouring.filtered``):
    the music rescaled to the speech-to-music power ratio it had, both to
    the mixture's power."""
    new_speech, new_music = (colouring.filtered(s, curve) for s in (speech, music))
    if power(speech) > 0.0 and power(music) > 0.0 and power(new_music) > 0.0:
        ratio = power(speech) / power(music)
        new_music = new_music * np.float32(np.sqrt(power(new_speech) / ratio / power(new_music)))
    new_mixture = new_speech + new_music
    if power(new_mixture) > 0.0:
        gain = np.float32(np.sqrt(power(mixture) / power(new_mixture)))
        new_speech, new_music, new_mixture = (s * gain for s in
                                              (new_speech, new_music, new_mixture))
    return new_speech, new_music, new_mixture


def copy_items(source, target, channels):
    """Every item under ``source`` into the same place under ``target``,
    through the ``channels`` (names of ``CHANNELS``) in turn within each
    folder; the number of items copied."""
    count = 0
    for folder, _, files in sorted(os.walk(source)):
        turn = 0
        out_folder = os.path.join(target, os.path.relpath(folder, source))
        os.makedirs(out_folder, exist_ok=True)
        if 'manifest.csv' in files:
            shutil.copyfile(os.path.join(folder, 'manifest.csv'),
                            os.path.join(out_folder, 'manifest.csv'))
        for name in sorted(files):
            stem, ext = os.path.splitext(name)
            if ext != '.wav' or stem.endswith((SPEECH_TAG, MUSIC_TAG)):
                continue
            paths = [os.path.join(folder, stem + tag + '.wav') for tag in ('', SPEECH_TAG,
                                                                         MUSIC_TAG)]
            mixture, speech = (util.load_audio(p) for p in paths[:2])
            music = util.load_audio(paths[2]) if os.path.exists(paths[2]) else mixture - speech
            settings = CHANNELS[channels[turn % len(channels)]]
            turn += 1
            outputs = through_channel(speech, music, mixture,
                                      lambda freqs: colouring.curve_db(freqs, **settings))
            for path, signal in zip(paths[1:] + paths[:1], outputs):
                util.write_audio(os.path.join(out_folder, os.path.basename(path)), signal,
                                 subtype='FLOAT')
            count += 1
    return count


def main(argv=None):
    args = build_parser().parse_args(argv)
    if os.path.exists(args.output):
        sys.exit('channel_items.py: {} exists; give a new folder'.format(args.output))
    channels = sorted(CHANNELS) if args.channel == MIXED else [args.channel]
    count = copy_items(args.input, args.output, channels)
    print('{} items of {} through the {} channel in {}'.format(
        count, args.input, args.channel, args.output))


if __name__ == '__main__':
    main()
