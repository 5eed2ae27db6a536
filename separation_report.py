"""make_separate.py --report: one CSV row per input, saying what became of it
and how much of it the separation found to be speech and how much music.

A researcher cleaning a corpus sorts the rows by ``speech_to_music_db`` to
find the recordings that had music under them (low) and those that were
clean speech already (high); docs/BENCHMARKS.md ("How much music a file
holds") measures how well the figure follows the true speech-to-music
ratio.
"""
import csv
import math
import os

import numpy as np

import cli
import util

COLUMNS = ('input', 'output', 'music_output', 'status', 'seconds', 'speech_db', 'music_db',
           'speech_to_music_db', 'note')
LEVEL_COLUMNS = ('speech_db', 'music_db', 'speech_to_music_db')
STATUSES = ('separated', 'failed', 'skipped')
LIMIT_DB = 120.0    # ratios are clipped to +-LIMIT_DB: a silent estimate is -inf dB


class Levels:
    """Energies of one file's speech and music estimates and of their sum,
    the mixture, summed over the ``(speech, music)`` parts that pass
    through ``counted`` (``(samples,)`` or ``(samples, channels)``), or
    given to ``add``."""

    def __init__(self):
        self.speech = self.music = self.mixture = 0.0
        self.whole = None       # the whole file written as it came in ('clean', --keep-clean)
                                # or as silence ('music', --gate-music): passage_gate's kinds
        self.kept = 0.0         # seconds written as they came in (--keep-clean)
        self.silenced = 0.0     # seconds written as silence (--gate-music)
        self.passages = None    # (clean, music alone, all) passages judged, if per passage
        self.spans = None       # each passage's bounds, energies and kind (--passage-report)

    def counted(self, parts):
        """Yield ``parts`` unchanged, adding up their energies on the way."""
        for speech, music in parts:
            s, m = np.asarray(speech, np.float64), np.asarray(music, np.float64)
            self.speech += float(np.sum(s * s))
            self.music += float(np.sum(m * m))
            self.mixture += float(np.sum((s + m) ** 2))
            yield speech, music

    def add(self, energies):
        """Add up ``(speech, music, mixture)`` energies, such as those a
        ``passage_gate.PassageGate`` measured of each passage (its
        ``energies``), instead of passing the parts through ``counted``."""
        for speech, music, mixture in energies:
            self.speech += speech
            self.music += music
            self.mixture += mixture

    def figures(self):
        """``{'speech_db', 'music_db', 'speech_to_music_db'}``: the speech
        and the music estimates' energies relative to the mixture's, and to
        each other, in dB (NaN where a ratio of two silences)."""
        return {'speech_db': ratio_db(self.speech, self.mixture),
                'music_db': ratio_db(self.music, self.mixture),
                'speech_to_music_db': ratio_db(self.speech, self.music)}


def ratio_db(energy, reference):
    """``10 log10(energy / reference)`` clipped to +-``LIMIT_DB``; NaN when
    both are 0."""
    if energy == 0.0 and reference == 0.0:
        return float('nan')
    if reference == 0.0:
        return LIMIT_DB
    if energy == 0.0:
        return -LIMIT_DB
    return float(np.clip(10.0 * math.log10(energy / reference), -LIMIT_DB, LIMIT_DB))


def row(source, out, music, status, seconds=None, levels=None, note=''):
    """A report row (dict of ``COLUMNS``) for input ``source`` with outputs
    ``out`` and ``music`` (None: none), ``seconds`` of audio and its
    ``Levels`` where it was separated."""
    figures = levels.figures() if levels is not None else dict.fromkeys(LEVEL_COLUMNS)
    return dict(figures, input=source, output=out, music_output=music or '', status=status,
                seconds=seconds, note=note)


def check(path, overwrite, audio=(), option='--report'):
    """Refuse report ``path`` (given to ``option``) before any work: stdout,
    a folder, one of the run's files ``audio`` (inputs, outputs, the model), or an
    existing file without ``overwrite``; make its folder and clear the
    temporary files killed runs left there."""
    if path == '-':
        raise cli.UserError('{} -: give a file name (stdout is for the speech)'.format(option))
    if os.path.isdir(path):
        raise cli.UserError('{} {}: is a folder; give a file name'.format(option, path))
    if cli.is_one_of(path, audio):
        raise cli.UserError('{} {}: is a file of this run (an input, an output or the '
                            'model); choose another file'.format(option, path))
    cli.prepare_output(path, overwrite, option + ' ')
    cli.remove_stale_temporaries([path])


def previous(path):
    """``{input: row}`` of an earlier report at ``path`` (``{}`` if there is
    none), for the inputs --skip-existing leaves out; ``cli.UserError`` if
    the file is not such a report."""
    return {entry['input']: entry
            for entry in read_table(path, COLUMNS, '--report', 'a make_separate.py report')}


def read_table(path, columns, option, what):
    """The rows of the CSV file at ``path`` (none if there is no file) as
    dicts of ``columns``; ``cli.UserError`` naming ``option`` if it cannot
    be read or lacks a column, so is not ``what``."""
    if not os.path.isfile(path):
        return []
    try:
        with util.open_csv(path) as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not set(columns) <= set(reader.fieldnames):
                raise cli.UserError('{} {}: exists and is not {} (no {} columns)'.format(
                    option, path, what, ', '.join(columns)))
            return [{k: entry[k] for k in columns} for entry in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise cli.UserError('{} {}: cannot read it ({})'.format(option, path, err)) from None


def skipped_rows(plan, earlier):
    """Rows for the ``(input, out, music)`` items of ``plan`` whose outputs
    existed: their rows of the ``earlier`` report (``previous``) when it has
    them, else status ``skipped`` without figures."""
    return [earlier.get(source) or row(source, out, music, 'skipped',
                                       note='outputs existed (--skip-existing)')
            for source, out, music in plan]


def write(path, rows):
    """``rows`` in the order of their inputs, written atomically."""
    util.write_table(path, COLUMNS, sorted(rows, key=lambda r: r['input']), digits=2, nan='')

