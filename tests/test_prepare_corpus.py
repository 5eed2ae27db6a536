"""scripts/prepare_corpus.py: the corpus checked first, and a rerun replacing its tracks."""
import csv
import json
import os
import sys

import pytest

from conftest import chirp, harmonic_stack, tone, write

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), 'scripts'))
import conftest  # noqa: E402
import prepare_corpus  # noqa: E402

COLUMNS = ('file', 'kind', 'dur_s', 'source_id', 'member', 'speaker', 'sex')


@pytest.fixture(autouse=True)
def plain_errors(monkeypatch):
    monkeypatch.delenv('SPEECHSEP_DEBUG', raising=False)


def corpus(folder, columns=COLUMNS):
    """A tiny corpus: six tracks of one music source (split over the three
    sides), a training reader and the single-speaker sources the rule sends
    to validation (tux-da) and test (tux-ru); half-second files, 16 kHz."""
    rows = []
    for k in range(6):
        name = 'music/game__track{}.flac'.format(k)
        write(folder / name, harmonic_stack(0.5, f0=110.0 + 20 * k), subtype='PCM_16')
        rows.append({'file': name, 'kind': 'music', 'dur_s': 0.5, 'source_id': 'game',
                     'member': 'track{}'.format(k)})
    for source, speaker in (('reader', 'Ann'), ('tux-da', 'Bo'), ('tux-ru', 'Cy')):
        for k in range(2):
            name = 'speech/{}__{}{}.flac'.format(source, speaker, k)
            write(folder / name, (chirp if k else tone)(0.5), subtype='PCM_16')
            rows.append({'file': name, 'kind': 'speech', 'dur_s': 0.5, 'source_id': source,
                         'speaker': speaker, 'sex': 'F'})
    write_manifest(folder, rows, columns)
    return str(folder)


def write_manifest(folder, rows, columns=COLUMNS):
    with open(str(folder / 'manifest.csv'), 'w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval='', extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)


def tracks(out):
    """``{folder relative to out: sorted file names}`` of every folder under ``out``."""
    return {os.path.relpath(root, out): sorted(files)
            for root, _, files in os.walk(out) if files}


def refusal(argv, capsys):
    return conftest.refusal(prepare_corpus.main, 'prepare_corpus.py', argv, capsys)


def test_a_listed_file_that_is_missing_is_one_line_and_nothing_is_written(tmp_path, capsys):
    root = corpus(tmp_path / 'corpus')
    os.remove(os.path.join(root, 'speech', 'tux-ru__Cy1.flac'))
    out = tmp_path / 'out'
    err = refusal(['--corpus', root, '--out', str(out)], capsys)
    assert '{}: listed in {} but not found'.format(
        os.path.join(root, 'speech/tux-ru__Cy1.flac'), os.path.join(root, 'manifest.csv')) in err
    assert not out.exists()


def test_a_manifest_without_a_column_is_one_line_naming_it(tmp_path, capsys):
    root = corpus(tmp_path / 'corpus', columns=('file', 'kind', 'dur_s', 'member'))
    out = tmp_path / 'out'
    err = refusal(['--corpus', root, '--out', str(out)], capsys)
    assert '{} is not a corpus manifest'.format(os.path.join(root, 'manifest.csv')) in err
    assert '(no source_id column)' in err
    assert not out.exists()


def test_the_list_never_lands_on_the_corpus(tmp_path, capsys):
    root = corpus(tmp_path / 'corpus')
    manifest = os.path.join(root, 'manifest.csv')
    with open(manifest) as handle:
        before = handle.read()
    err = refusal(['--corpus', root, '--out', str(tmp_path / 'out'), '--list', manifest], capsys)
    assert '--list {}: the output is one of the inputs'.format(manifest) in err
    with open(manifest) as handle:
        assert handle.read() == before
    assert not (tmp_path / 'out').exists()


def test_a_rerun_with_another_seed_replaces_the_tracks_and_keeps_other_files(tmp_path):
    root = corpus(tmp_path / 'corpus')
    out, fresh = str(tmp_path / 'out'), str(tmp_path / 'fresh')
    assert prepare_corpus.main(['--corpus', root, '--out', out]) == 0
    first = tracks(out)
    assert len(first['music_wav']) >= 2 and first['val/speech_wav']
    mine = [write(os.path.join(out, 'music_wav', 'blues.00000.wav'), tone(0.1)),
            write(os.path.join(out, 'music_wav', 'm999-my-own.flac'), tone(0.1), subtype='PCM_16'),
            write(os.path.join(out, 'speech_wav', 'm000-game__track0.flac'), tone(0.1),
                  subtype='PCM_16')]
    assert prepare_corpus.main(['--corpus', root, '--out', out, '--seed', '5']) == 0
    assert prepare_corpus.main(['--corpus', root, '--out', fresh, '--seed', '5']) == 0
    wanted = tracks(fresh)
    assert wanted['music_wav'] != first['music_wav']      # the same tracks, other names
    wanted['music_wav'] = sorted(wanted['music_wav'] + ['blues.00000.wav', 'm999-my-own.flac'])
    wanted['speech_wav'] = sorted(wanted['speech_wav'] + ['m000-game__track0.flac'])
    assert tracks(out) == wanted
    assert all(os.path.exists(path) for path in mine)


def test_a_track_the_changed_corpus_no_longer_has_is_removed(tmp_path):
    """Found by the name the earlier run's split.json gives it."""
    root = corpus(tmp_path / 'corpus')
    out = str(tmp_path / 'out')
    assert prepare_corpus.main(['--corpus', root, '--out', out]) == 0
    with open(os.path.join(out, 'split.json')) as handle:
        dropped = json.load(handle)['train']['music_files'][0]
    with open(os.path.join(root, 'manifest.csv'), newline='') as handle:
        rows = [r for r in csv.DictReader(handle) if r['file'] != dropped]
    write_manifest(tmp_path / 'corpus', rows)
    assert prepare_corpus.main(['--corpus', root, '--out', out]) == 0
    name = os.path.splitext(os.path.basename(dropped))[0]
    left = [f for files in tracks(out).values() for f in files]
    assert not [f for f in left if f.endswith('-{}.flac'.format(name))]
    assert len([f for f in left if f.startswith('m')]) == 5


@pytest.mark.parametrize('n_music, speech_source, side, lacking', [
    (1, 'tux-ru', 'train', 'neither speech nor music'),   # all on the test side
    (3, 'reader', 'val', 'music but no speech'),          # speech for training only
])
def test_a_side_that_cannot_be_mixed_is_one_line_and_nothing_is_written(
        tmp_path, capsys, n_music, speech_source, side, lacking):
    """A music source of one track goes to the test side whole; the empty
    training side had crashed (ZeroDivisionError) after writing folders."""
    folder = tmp_path / 'corpus'
    rows = []
    for k in range(n_music):
        name = 'music/game__track{}.flac'.format(k)
        write(folder / name, harmonic_stack(0.5), subtype='PCM_16')
        rows.append({'file': name, 'kind': 'music', 'dur_s': 0.5, 'source_id': 'game',
                     'member': 'track{}'.format(k)})
    name = 'speech/{}__Cy0.flac'.format(speech_source)
    write(folder / name, chirp(0.5), subtype='PCM_16')
    rows.append({'file': name, 'kind': 'speech', 'dur_s': 0.5, 'source_id': speech_source,
                 'speaker': 'Cy', 'sex': 'F'})
    write_manifest(folder, rows)
    out = tmp_path / 'out'
    err = refusal(['--corpus', str(folder), '--out', str(out)], capsys)
    assert 'the {} side has {}'.format(side, lacking) in err
    assert not out.exists()
