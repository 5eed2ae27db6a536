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
corpus files went where. Music tracks are named ``mNNN-FILE.flac`` (FILE:
the corpus file's name), speech tracks ``sNNN-SOURCE.flac``.

The manifest's columns, every file it lists (present, 16 kHz mono) and that
each side gets both speech and music are checked before anything is
written. Running again into the same OUT (another ``--seed``, a changed
corpus) replaces the tracks: the files of those names that this script
wrote there before (FILE and SOURCE of the manifest, or of the earlier
OUT/split.json) and that the new split does not write are removed;
anything else in OUT (GTZAN's files, say) is left alone.

Usage: python3 scripts/prepare_corpus.py [--corpus ../shared/corpus] [--out music_speech]
"""
import argparse
import csv
import hashlib
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import interrupts  # noqa: E402  (first of ours: Ctrl-C while the rest loads is one line)
if __name__ == '__main__':
    interrupts.quiet_while_loading()
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import cli  # noqa: E402
import const  # noqa: E402
import util  # noqa: E402

PROG = 'prepare_corpus.py'

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
COLUMNS = ('file', 'kind', 'dur_s', 'source_id', 'member', 'speaker', 'sex')  # of manifest.csv
TRACK_NAME = re.compile(r'^([ms])\d{3,}-(.+)\.flac$')   # (m or s, FILE or SOURCE)


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument('--corpus', default='../shared/corpus',
                        help='corpus folder with manifest.csv (default: %(default)s)')
    parser.add_argument('--out', default='music_speech',
                        help='output folder (default: %(default)s)')
    parser.add_argument('--list', default='',
                        help='also write the split as CSV here (file, kind, side)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: 0)')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    return parser


def read_manifest(corpus):
    """The rows of ``corpus/manifest.csv``; ``cli.UserError`` naming the file
    when it is missing, unreadable, lacks one of ``COLUMNS`` or gives a
    duration (s) that is not a number."""
    path = os.path.join(corpus, 'manifest.csv')
    if not os.path.exists(path):
        raise cli.UserError('{} not found: this script reads the corpus '
                            'the shipped model was trained on, which is not part of this '
                            'repository; give its folder with `make corpus CORPUS=DIR`, or '
                            'train on GTZAN or your own audio (README.md, "Training '
                            'data")'.format(path))
    rows = cli.csv_rows(path, COLUMNS, 'a corpus manifest')
    for line, row in enumerate(rows, 2):
        try:
            float(row['dur_s'])
        except (TypeError, ValueError):
            raise cli.UserError('{} line {}: dur_s {!r} is not a number of seconds'.format(
                path, line, row['dur_s'])) from None
    return rows


def check_audio(corpus, rows):
    """``cli.UserError`` unless every speech and music file of ``rows`` is in
    ``corpus`` and 16 kHz mono (its header read only)."""
    used = [r for r in rows if r['kind'] in ('music', 'speech')]
    missing = [r['file'] for r in used if not os.path.isfile(os.path.join(corpus, r['file']))]
    if missing:
        raise cli.UserError('{}: listed in {} but not found{}'.format(
            os.path.join(corpus, missing[0]), os.path.join(corpus, 'manifest.csv'),
            ' (nor {} more)'.format(len(missing) - 1) if len(missing) > 1 else ''))
    for row in used:
        path = os.path.join(corpus, row['file'])
        try:
            info = sf.info(path)
        except (sf.SoundFileError, RuntimeError) as err:
            raise cli.UserError('{}: not audio libsndfile reads ({})'.format(path, err)) from None
        if info.samplerate != const.SR or info.channels != 1:
            raise cli.UserError('{} is not {} Hz mono'.format(path, const.SR))


def check_sides(split):
    """``cli.UserError`` for a side without both speech and music: its tracks
    could not be mixed (``make model-data`` and training read every side)."""
    for side, parts in split.items():
        if parts['speech'] and not parts['music']:
            raise cli.UserError('the {} side has speech but no music track to mix it with; '
                                'the corpus needs more music tracks'.format(side))
        if not parts['speech']:
            raise cli.UserError(
                'the {} side has {}; the corpus needs more {} (which side each goes '
                'to: the rule in scripts/prepare_corpus.py)'.format(
                    side, 'music but no speech' if parts['music'] else 'neither speech nor music',
                    'speakers' if parts['music'] else 'speakers and music tracks'))


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
    path = os.path.join(corpus, row['file'])
    try:
        audio, rate = sf.read(path, dtype='float32')
    except (sf.SoundFileError, RuntimeError) as err:
        raise cli.UserError('{}: not audio libsndfile reads ({})'.format(path, err)) from None
    if rate != const.SR or audio.ndim != 1:
        raise cli.UserError('{} is not {} Hz mono'.format(path, const.SR))
    return audio


def music_tracks(corpus, rows, folder, rng):
    """Write the music tracks in a seeded random order (index-prefixed names,
    so that the sorted list interleaves sources); returns their paths."""
    os.makedirs(folder, exist_ok=True)
    order = list(range(len(rows)))
    rng.shuffle(order)
    written = []
    for rank, k in enumerate(order):
        audio = load(corpus, rows[k])
        if len(audio) < MIN_MUSIC_SECONDS * const.SR:
            repeats = int(np.ceil(TILE_TO_SECONDS * const.SR / max(1, len(audio))))
            audio = np.tile(audio, repeats)
        written.append(os.path.join(folder, 'm{:03d}-{}.flac'.format(rank, stem(rows[k]))))
        util.write_audio(written[-1], audio, const.SR, subtype='PCM_16')
    return written


def stem(row):
    """The corpus file's name without folder and extension."""
    return os.path.splitext(os.path.basename(row['file']))[0]


def speech_tracks(corpus, rows, n_tracks, folder, rng):
    """Join utterances per speaker into at least ``n_tracks`` tracks, written
    in a seeded random order (index-prefixed names interleave speakers);
    returns their paths."""
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
    written = []
    for rank, (source, audio) in enumerate(tracks):
        written.append(os.path.join(folder, 's{:03d}-{}.flac'.format(rank, source)))
        util.write_audio(written[-1], audio, const.SR, subtype='PCM_16')
    return written


def write_list(path, split):
    """The split as CSV: one row per corpus file with its side."""
    rows = sorted((r['file'], kind, side) for side, parts in split.items()
                  for kind, part in parts.items() for r in part)
    with util.replacing(path) as tmp:
        with open(tmp, 'w', newline='') as handle:
            writer = csv.writer(handle)
            writer.writerow(['file', 'kind', 'side'])
            writer.writerows(rows)


def side_folder(out, side):
    return out if side == 'train' else os.path.join(out, side)


def earlier_tracks(out, rows):
    """The paths of the tracks in ``out`` that this script wrote before:
    in a side's music_wav (speech_wav), ``mNNN-FILE.flac`` (``sNNN-SOURCE.flac``)
    with FILE a music file (SOURCE a speech source) of ``rows`` or of the
    earlier run's ``out/split.json``."""
    names = {'m': {stem(r) for r in rows if r['kind'] == 'music'},
             's': {r['source_id'] for r in rows if r['kind'] == 'speech'}}
    for part in earlier_split(out).values():
        if isinstance(part, dict):
            names['m'] |= {stem({'file': f}) for f in part.get('music_files', [])}
            names['s'] |= {s.split(': ', 1)[0] for s in part.get('speakers', [])}
    found = []
    for side in SIDES:
        for kind in ('music', 'speech'):
            folder = os.path.join(side_folder(out, side), kind + '_wav')
            for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
                match = TRACK_NAME.match(name)
                if match and match.group(1) == kind[0] and match.group(2) in names[kind[0]]:
                    found.append(os.path.join(folder, name))
    return found


def earlier_split(out):
    """``{side: {...}}`` of ``out/split.json``; ``{}`` if absent or unreadable."""
    try:
        with open(os.path.join(out, 'split.json')) as handle:
            report = json.load(handle)
    except (OSError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def main(argv=None):
    return cli.main(PROG, build_parser(), prepare, argv)


def prepare(args):
    """Split the corpus of ``args.corpus`` and write its tracks into ``args.out``."""
    rows = read_manifest(args.corpus)
    check_audio(args.corpus, rows)
    rng = random.Random(args.seed)
    split = split_rows(rows)
    check_sides(split)
    if args.list:         # never onto the corpus it reads
        cli.prepare_output(args.list, True, '--list ', inputs=[
            os.path.join(args.corpus, 'manifest.csv')] + [
            os.path.join(args.corpus, r['file']) for r in rows])
    cli.prepare_output(os.path.join(args.out, 'split.json'), True)
    earlier = earlier_tracks(args.out, rows)
    report, written = {}, []
    for side, parts in split.items():
        base = side_folder(args.out, side)
        music = music_tracks(args.corpus, parts['music'], os.path.join(base, 'music_wav'), rng)
        speech = speech_tracks(args.corpus, parts['speech'], len(music),
                               os.path.join(base, 'speech_wav'), rng)
        written += music + speech
        n_music, n_speech = len(music), len(speech)
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
    with util.replacing(os.path.join(args.out, 'split.json')) as tmp:
        with open(tmp, 'w') as handle:
            json.dump(report, handle, indent=1)
    if args.list:
        write_list(args.list, split)
    stale = sorted(set(earlier) - set(written))
    for path in stale:
        os.remove(path)
    if stale:
        print('removed {} track{} of an earlier run that the split no longer '
              'has'.format(len(stale), cli.plural(len(stale))))


if __name__ == '__main__':
    sys.exit(main())
