"""Evaluation items heard through another channel (telephone, dull, boomy...) or room.

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

A room (``ROOMS``: small-room, living-room, hall) instead puts the speech
alone in a fixed synthetic room (``reverb.room_response``), as a voice
recorded away from its microphone with music laid under it afterwards; the
speech reference is the reverberant speech, which the model is asked to
keep. The hall lies beyond what ``train.py --reverb`` draws (a longer
reverberation time, a lower direct-to-reverberant ratio).

Usage: python3 scripts/channel_items.py -i build/val_eval -o build/val_channels \
           --channel mixed        (or telephone, dull, ...: one for every item)
       python3 scripts/channel_items.py -i build/val_eval -o build/val_rooms \
           --channel rooms        (or small-room, living-room, hall)
"""
import argparse
import collections
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import numpy as np  # noqa: E402
import cli  # noqa: E402
import colouring  # noqa: E402
import const  # noqa: E402
import reverb  # noqa: E402
import util  # noqa: E402
from mixing import power  # noqa: E402  (mean square, float64)

SPEECH_TAG, MUSIC_TAG = const.REFERENCE_TAGS    # '.speech', '.music'
MIXED, MIXED_ROOMS = 'mixed', 'rooms'

# name: curve_db settings (tilt dB/octave, bands (Hz, octaves, dB), band limit Hz)
CHANNELS = {
    'telephone': dict(band_limit=(300.0, 3400.0)),
    'small-speaker': dict(bands=[(1500.0, 1.0, 6.0)], band_limit=(450.0, 7000.0)),
    'dull': dict(tilt=-4.0),
    'bright': dict(tilt=4.0, bands=[(5000.0, 1.5, 6.0)]),
    'boomy': dict(bands=[(150.0, 1.5, 12.0)]),
}

# name: room_response settings (RT60 s, DRR dB, pre-delay s); the tail is
# drawn from a generator seeded with the room's place in sorted(ROOMS)
ROOMS = {
    'small-room': dict(rt60=0.3, drr_db=9.0, predelay=0.003),
    'living-room': dict(rt60=0.5, drr_db=3.0, predelay=0.008),
    'hall': dict(rt60=1.2, drr_db=-3.0, predelay=0.02),
}


PROG = 'channel_items.py'


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('--input', '-i', required=True, help='folder of evaluation items')
    parser.add_argument('--output', '-o', required=True, help='new folder (must not exist)')
    parser.add_argument('--channel', '-c', required=True,
                        choices=sorted(CHANNELS) + sorted(ROOMS) + [MIXED, MIXED_ROOMS],
                        help='one channel or room for every item, or "mixed" ("rooms"): '
                             'the channels (rooms) in turn, item by item of each folder')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def through_channel(speech, music, mixture, curve):
    """``(speech, music, mixture)`` through ``curve`` (``colouring.filtered``),
    levelled as ``remixed`` does."""
    return remixed(speech, music, mixture,
                   *(colouring.filtered(s, curve) for s in (speech, music)))


def in_room(speech, music, mixture, response):
    """``(speech, music, mixture)`` with the speech heard through the room
    ``response`` (``reverb.reverberate``) and the music as it was, levelled
    as ``remixed`` does."""
    return remixed(speech, music, mixture, reverb.reverberate(speech, response), music)


def room_responses():
    """``{name: response}`` for every room of ``ROOMS``, the same every run."""
    return {name: reverb.room_response(np.random.default_rng(place), **settings)
            for place, (name, settings) in enumerate(sorted(ROOMS.items()))}


def remixed(speech, music, mixture, new_speech, new_music):
    """``(new_speech, new_music, new_mixture)``: the new music rescaled to
    the speech-to-music power ratio of ``speech`` and ``music``, both to
    the power of ``mixture``, and the new mixture their sum."""
    p_speech, p_music, p_new_music = power(speech), power(music), power(new_music)
    if p_speech > 0.0 and p_music > 0.0 and p_new_music > 0.0:
        new_music = new_music * np.float32(np.sqrt(power(new_speech) * p_music
                                                   / p_speech / p_new_music))
    new_mixture = new_speech + new_music
    if power(new_mixture) > 0.0:
        gain = np.float32(np.sqrt(power(mixture) / power(new_mixture)))
        new_speech, new_music, new_mixture = (s * gain for s in
                                              (new_speech, new_music, new_mixture))
    return new_speech, new_music, new_mixture


def copy_items(source, target, channels):
    """Every item under ``source`` (``util.find_mixtures``, with its
    ``NAME.speech.wav``, ``NAME.music.wav`` and folder's ``manifest.csv``)
    into the same place under ``target``, through the ``channels`` (names
    of ``CHANNELS`` or ``ROOMS``) in turn within each folder; the number of
    items copied."""
    responses = room_responses()
    turns = collections.Counter()           # items so far, per folder
    for path in util.find_mixtures(source):
        folder = os.path.dirname(path)
        out_folder = os.path.join(target, os.path.relpath(folder, source))
        if not turns[folder]:
            os.makedirs(out_folder, exist_ok=True)
            manifest = os.path.join(folder, 'manifest.csv')
            if os.path.exists(manifest):
                shutil.copyfile(manifest, os.path.join(out_folder, 'manifest.csv'))
        channel = channels[turns[folder] % len(channels)]
        turns[folder] += 1
        stem = os.path.splitext(path)[0]
        references = [stem + tag + '.wav' for tag in (SPEECH_TAG, MUSIC_TAG)]
        mixture, speech = util.load_audio(path), util.load_audio(references[0])
        music = (util.load_audio(references[1]) if os.path.exists(references[1])
                 else mixture - speech)
        if channel in ROOMS:
            outputs = in_room(speech, music, mixture, responses[channel])
        else:
            outputs = through_channel(speech, music, mixture,
                                      lambda freqs: colouring.curve_db(freqs,
                                                                       **CHANNELS[channel]))
        for source_path, signal in zip(references + [path], outputs):
            util.write_audio(os.path.join(out_folder, os.path.basename(source_path)), signal,
                             subtype='FLOAT')
    return sum(turns.values())


def main(argv=None):
    return cli.main(PROG, build_parser(), make_items, argv)


def make_items(args):
    """Copy the items of ``args.input`` through the channels into the new
    folder ``args.output``, built as ``OUTPUT.partial`` and renamed when
    whole: an interrupted or failed run leaves no folder that looks done."""
    if os.path.exists(args.output):
        raise cli.UserError('-o {}: exists; give a new folder'.format(args.output))
    if not os.path.isdir(args.input) or not util.find_mixtures(args.input):
        raise cli.UserError('-i {}: no evaluation items there (NAME.wav with NAME{}.wav; '
                            '`make model-data` writes build/val_eval)'.format(
                                args.input, SPEECH_TAG))
    channels = {MIXED: sorted(CHANNELS), MIXED_ROOMS: sorted(ROOMS)}.get(args.channel,
                                                                      [args.channel])
    partial = args.output.rstrip(os.sep) + '.partial'
    shutil.rmtree(partial, ignore_errors=True)      # a killed run's
    try:
        count = copy_items(args.input, partial, channels)
        os.rename(partial, args.output)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    print('{} items of {} through the {} channel(s) in {}'.format(
        count, args.input, args.channel, args.output))


if __name__ == '__main__':
    sys.exit(main())
