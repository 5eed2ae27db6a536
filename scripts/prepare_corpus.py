"""Build music_speech/ training and validation tracks from the shared corpus.

The corpus (``../shared/corpus``, 16 kHz mono FLAC, see its SOURCES.md) holds
many short speech utterances and ~23 s music excerpts. This script

* splits by recording before anything is mixed: the speakers of
  ``--val-sources`` and every tenth music track (by a hash of its name) go to
  validation, the rest to training, so no speaker or track is on both sides;
* joins each speaker's utterances, in a seeded random order and with pauses
  of 0.25-1.0 s, into tracks about as many as there are music tracks (the
  seed's pairing zips the two lists);
* tiles music loops shorter than 10 s up to 20 s.

Output (FLAC, 16 kHz mono): ``OUT/speech_wav``, ``OUT/music_wav`` (training)
and ``OUT/val/speech_wav``, ``OUT/val/music_wav`` (validation), plus
``OUT/split.json`` listing which corpus files went where.

Usage: python3 scripts/prepare_corpus.py [--corpus ../shared/corpus] [--out music_speech]
"""
import argparse
import csv
import hashlib
import json
import os
import random
import sys

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import const  # noqa: E402

VAL_SOURCES = ('tux-ru', 'megaglest-voice', 'pypi-pocketsphinx')
MUSIC_VAL_EVERY = 10          # one music track in ten is held out
PAUSE_SECONDS = (0.25, 1.0)   # silence between joined utterances
MIN_MUSIC_SECONDS = 10.0      # shorter music loops are tiled...
TILE_TO_SECONDS = 20.0        # ...up to this length
TRACK_SURPLUS = 1.2           # speech tracks per music track, at least


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--corpus', default='../shared/corpus',
                        help='corpus folder with manifest.csv (default: %(default)s)')
    parser.add_argument('--out', default='music_speech',
                        help='output folder (default: %(default)s)')
    parser.add_argument('--val-sources', nargs='+', default=list(VAL_SOURCES),
                        help='speech source ids held out (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    return parser


def read_manifest(corpus):
    path = os.path.join(corpus, 'manifest.csv')
    if not os.path.exists(path):
        sys.exit('prepare_corpus.py: error: {} not found; rebuild the corpus with '
                 '{}/rebuild.sh'.format(path, corpus))
    with open(path, newline='') as handle:
        return list(csv.DictReader(handle))


def is_val_music(name):
    digest = hashlib.md5(name.encode('utf-8')).hexdigest()
    return int(digest, 16) % MUSIC_VAL_EVERY == 0


def load(corpus, row):
    audio, rate = sf.read(os.path.join(corpus, row['file']), dtype='float32')
    if rate != const.SR or audio.ndim != 1:
        raise SystemExit('prepare_corpus.py: error: {} is not {} Hz mono'.format(
            row['file'], const.SR))
    return audio


def music_tracks(corpus, rows, folder, rng):
    """Write the music tracks in a seeded random order (index-prefixed names,
    so that the sorted list interleaves sources)."""
    os.makedirs(folder, exist_ok=True)
    order = list(range(len(rows)))
    rng.shuffle(order)
    for rank, k in enumerate(order):
        audio = load(corpus, rows[k])
        if len(audio) < MIN_MUSIC_SECONDS * const.SR:
            repeats = int(np.ceil(TILE_TO_SECONDS * const.SR / max(1, len(audio))))
            audio = np.tile(audio, repeats)
        name = os.path.splitext(os.path.basename(rows[k]['file']))[0]
        sf.write(os.path.join(folder, 'm{:03d}-{}.flac'.format(rank, name)), audio, const.SR)
    return len(rows)


def speech_tracks(corpus, rows, n_tracks, folder, rng):
    """Join utterances per speaker into at least ``n_tracks`` tracks, written
    in a seeded random order (index-prefixed names interleave speakers)."""
    os.makedirs(folder, exist_ok=True)
    total = sum(float(r['dur_s']) + np.mean(PAUSE_SECONDS) for r in rows)
    target = total / (n_tracks * TRACK_SURPLUS)
    by_speaker = {}
    for row in rows:
        by_speaker.setdefault((row['source_id'], row['speaker']), []).append(row)
    tracks = []
    for (source, _), utterances in sorted(by_speaker.items()):
        utterances = sorted(utterances, key=lambda r: r['file'])
        rng.shuffle(utterances)
        pieces, length = [], 0.0
        for k, row in enumerate(utterances):
            audio = load(corpus, row)
            pieces.append(audio)
            length += len(audio) / const.SR
            if length >= target or k == len(utterances) - 1:
                tracks.append((source, np.concatenate(pieces)))
                pieces, length = [], 0.0
            else:
                pause = rng.uniform(*PAUSE_SECONDS)
                pieces.append(np.zeros(int(pause * const.SR), np.float32))
                length += pause
    rng.shuffle(tracks)
    for rank, (source, audio) in enumerate(tracks):
        sf.write(os.path.join(folder, 's{:03d}-{}.flac'.format(rank, source)), audio, const.SR)
    return len(tracks)


def main(argv=None):
    args = build_parser().parse_args(argv)
    rows = read_manifest(args.corpus)
    rng = random.Random(args.seed)
    music = [r for r in rows if r['kind'] == 'music']
    speech = [r for r in rows if r['kind'] == 'speech']
    held_speakers = {r['speaker'] for r in speech if r['source_id'] in args.val_sources}
    split = {
        'train': {'music': [r for r in music if not is_val_music(r['file'])],
                  'speech': [r for r in speech if r['speaker'] not in held_speakers]},
        'val': {'music': [r for r in music if is_val_music(r['file'])],
                'speech': [r for r in speech if r['speaker'] in held_speakers]},
    }
    report = {}
    for side, parts in split.items():
        base = args.out if side == 'train' else os.path.join(args.out, 'val')
        n_music = music_tracks(args.corpus, parts['music'], os.path.join(base, 'music_wav'), rng)
        n_speech = speech_tracks(args.corpus, parts['speech'], n_music,
                                 os.path.join(base, 'speech_wav'), rng)
        report[side] = {'music_files': [r['file'] for r in parts['music']],
                        'speech_files': [r['file'] for r in parts['speech']],
                        'speakers': sorted({r['speaker'] for r in parts['speech']})}
        print('{}: {} music tracks, {} speech tracks from {} speakers ({:.1f} min speech)'.format(
            side, n_music, n_speech, len(report[side]['speakers']),
            sum(float(r['dur_s']) for r in parts['speech']) / 60))
    with open(os.path.join(args.out, 'split.json'), 'w') as handle:
        json.dump(report, handle, indent=1)


if __name__ == '__main__':
    main()
