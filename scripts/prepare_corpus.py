"""Build music_speech/ training, validation and test tracks from the shared corpus.

The corpus (``../shared/corpus``, 16 kHz mono FLAC, see its SOURCES.md and
``ext/SOURCES.md``) holds many short speech utterances and ~23 s music
excerpts. This script

* splits by recording before anything is mixed, into three sides: training,
  validation (picks checkpoints and settings) and test (touched once, for
  the reported figures). No speaker and no music track is on two sides. The
  rule is deterministic (below); ``docs/corpus_split.csv`` lists its result;
* joins each speaker's utterances, in a seeded random order and with pauses
  of 0.25-1.0 s, into tracks about as many as there are music tracks (the
  seed's pairing zips the two lists);
* tiles music loops shorter than 10 s up to 20 s.

The rule. Speech: whole single-speaker sources are assigned by name
(``TEST_SOURCES``, ``VAL_SOURCES``); in the many-speaker sources
(``PER_SPEAKER_SOURCES``: LibriSpeech readers, non-native speakers) the
speakers of each sex are ranked by a hash of their name and the first tenth
goes to test, the next tenth to validation. Music: the excerpts of one
original track (``member``) stay together; in each music source the tracks
that the earlier two-way split held out (a hash of the file name) go to
test, topped up by hash rank to at least one track in ten, and the next
tenth by hash rank to validation.

Output (FLAC, 16 kHz mono): ``OUT/speech_wav``, ``OUT/music_wav`` (training),
``OUT/val/...`` and ``OUT/test/...``, plus ``OUT/split.json`` listing which
corpus files went where.

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

# Single-speaker sources held out whole. Test: telephone (Italian), old
# validation speakers (Russian, English game voices, CMU Sphinx readers),
# letters and syllables in German and Mandarin. Validation: telephone
# (French), Danish, French and Norwegian letters, a second Mandarin voice.
TEST_SOURCES = ('ast-it-menardi', 'tux-ru', 'megaglest-voice', 'pypi-pocketsphinx',
                'klettres-de', 'gcin-v3')
VAL_SOURCES = ('ast-fr-armelle', 'tux-da', 'klettres-fr', 'klettres-nb', 'gcin-v5')
# Many-speaker sources split speaker by speaker (per sex): LibriSpeech
# audiobook readers, harder LibriSpeech readers, non-native English.
PER_SPEAKER_SOURCES = ('ls-tc100', 'ls-to', 'so762')
HELD_SHARE = 10               # one in ten to test, the next one in ten to validation
PAUSE_SECONDS = (0.25, 1.0)   # silence between joined utterances
MIN_MUSIC_SECONDS = 10.0      # shorter music loops are tiled...
TILE_TO_SECONDS = 20.0        # ...up to this length
TRACK_SURPLUS = 1.2           # speech tracks per music track, at least
SIDES = ('train', 'val', 'test')


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--corpus', default='../shared/corpus',
                        help='corpus folder with manifest.csv (default: %(default)s)')
    parser.add_argument('--out', default='music_speech',
                        help='output folder (default: %(default)s)')
    parser.add_argument('--list', default='',
                        help='also write the split as CSV here (file, kind, side)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    return parser


def read_manifest(corpus):
    path = os.path.join(corpus, 'manifest.csv')
    if not os.path.exists(path):
        sys.exit('prepare_corpus.py: error: {} not found: this script reads the corpus '
                 'the shipped model was trained on, which is not part of this repository; '
                 'give its folder with `make corpus CORPUS=DIR`, or train on GTZAN or your '
                 'own audio (README.md, "Training data")'.format(path))
    with open(path, newline='') as handle:
        return list(csv.DictReader(handle))


def rank(name):
    """A number from ``name`` alone, the same on every machine."""
    return int(hashlib.md5(name.encode('utf-8')).hexdigest(), 16)


def held_count(n):
    """How many of ``n`` go to each held-out side: at least one in ten."""
    return -(-n // HELD_SHARE)


def speech_side(rows):
    """``{(source_id, speaker): side}`` for every speaker of ``rows``."""
    sides, strata = {}, {}
    for row in rows:
        key = (row['source_id'], row['speaker'])
        if row['source_id'] in TEST_SOURCES:
            sides[key] = 'test'
        elif row['source_id'] in VAL_SOURCES:
            sides[key] = 'val'
        elif row['source_id'] in PER_SPEAKER_SOURCES:
            strata.setdefault((row['source_id'], row['sex']), set()).add(key)
        else:
            sides[key] = 'train'
    for speakers in strata.values():
        ordered = sorted(speakers, key=lambda k: rank(k[1]))
        n = held_count(len(ordered))
        for k, key in enumerate(ordered):
            sides[key] = 'test' if k < n else 'val' if k < 2 * n else 'train'
    return sides


def music_side(rows):
    """``{(source_id, member): side}``: whole tracks, per music source."""
    tracks = {}
    for row in rows:
        tracks.setdefault(row['source_id'], {}).setdefault(row['member'], []).append(row)
    sides = {}
    for source, members in tracks.items():
        # Earlier held-out tracks first (the old two-way rule), then by rank.
        held_before = {m for m, rows_ in members.items()
                       if any(rank(r['file']) % HELD_SHARE == 0 for r in rows_)}
        ordered = sorted(members, key=lambda m: (m not in held_before, rank(m)))
        n = held_count(len(ordered))
        n_test = max(n, len(held_before))
        for k, member in enumerate(ordered):
            sides[(source, member)] = ('test' if k < n_test else
                                       'val' if k < n_test + n else 'train')
    return sides


def split_rows(rows):
    """``{side: {'music': rows, 'speech': rows}}`` by the rule above."""
    music = [r for r in rows if r['kind'] == 'music']
    speech = [r for r in rows if r['kind'] == 'speech']
    by_speaker = speech_side(speech)
    by_track = music_side(music)
    return {side: {
        'music': [r for r in music if by_track[(r['source_id'], r['member'])] == side],
        'speech': [r for r in speech if by_speaker[(r['source_id'], r['speaker'])] == side]}
        for side in SIDES}


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


def write_list(path, split):
    """The split as CSV: one row per corpus file with its side."""
    rows = sorted((r['file'], kind, side) for side, parts in split.items()
                  for kind, part in parts.items() for r in part)
    with open(path, 'w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['file', 'kind', 'side'])
        writer.writerows(rows)


def main(argv=None):
    args = build_parser().parse_args(argv)
    rows = read_manifest(args.corpus)
    rng = random.Random(args.seed)
    split = split_rows(rows)
    report = {}
    for side, parts in split.items():
        base = args.out if side == 'train' else os.path.join(args.out, side)
        n_music = music_tracks(args.corpus, parts['music'], os.path.join(base, 'music_wav'), rng)
        n_speech = speech_tracks(args.corpus, parts['speech'], n_music,
                                 os.path.join(base, 'speech_wav'), rng)
        speakers = sorted({(r['source_id'], r['speaker'], r['sex']) for r in parts['speech']})
        report[side] = {'music_files': [r['file'] for r in parts['music']],
                        'speech_files': [r['file'] for r in parts['speech']],
                        'speakers': ['{}: {}'.format(*s[:2]) for s in speakers]}
        men = sum(1 for s in speakers if s[2].startswith('M') and '/' not in s[2])
        print('{}: {} music tracks from {} sources; {} speech tracks from {} speakers '
              '({} men) in {} sources ({:.1f} min speech, {:.1f} min music)'.format(
                  side, n_music, len({r['source_id'] for r in parts['music']}), n_speech,
                  len(speakers), men, len({r['source_id'] for r in parts['speech']}),
                  sum(float(r['dur_s']) for r in parts['speech']) / 60,
                  sum(float(r['dur_s']) for r in parts['music']) / 60))
    with open(os.path.join(args.out, 'split.json'), 'w') as handle:
        json.dump(report, handle, indent=1)
    if args.list:
        write_list(args.list, split)


if __name__ == '__main__':
    main()
