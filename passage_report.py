"""make_separate.py --passage-report: one CSV row per passage of every
input, with the speech and music estimates' levels there and how the
passage was written.

``--report`` says which recordings had music under them; this says where.
A researcher cleaning a corpus keeps the stretches whose
``speech_to_music_db`` is high (speech with little or no music under it),
a subtitler finds where the music comes in. The passages are those
``--keep-clean`` and ``--gate-music`` judge (``--passage`` seconds from the
start of each file, a short tail joined to the passage before it), so
``written`` says what each judged passage became.

A run holds none of the rows in memory: each process writes the rows of
every input it separates to a spool (``Spool``), a hidden file beside the
report, and the report is merged from the spools and the rows an earlier
report kept for the inputs skipped (``write``), however many and long the
inputs are.
"""
import csv
import heapq
import os

import cli
import passage_gate
import separation_report
import util

COLUMNS = ('input', 'start_s', 'end_s', 'speech_db', 'music_db', 'speech_to_music_db',
           'written')
OPTION = '--passage-report'


def spans(gate, rate):
    """``[(start, end, speech, music, mixture, kind)]`` of the passages a
    spent ``passage_gate.PassageGate`` cut from a stream at ``rate`` Hz:
    their bounds in seconds, their estimates' energies and their kind."""
    return [(start / rate, (start + length) / rate) + energies + (kind,)
            for (start, length, kind), energies in zip(gate.decisions, gate.energies)]


def rows(source, passages):
    """The report rows (dicts of ``COLUMNS``) of input ``source`` for its
    ``spans``: levels in dB relative to the passage's mixture and to each
    other (``separation_report.ratio_db``; NaN for two silences)."""
    return [{'input': source, 'start_s': start, 'end_s': end,
             'speech_db': separation_report.ratio_db(speech, mixture),
             'music_db': separation_report.ratio_db(music, mixture),
             'speech_to_music_db': separation_report.ratio_db(speech, music),
             'written': WRITTEN[kind]}
            for start, end, speech, music, mixture, kind in passages]


# how each kind of passage was written, in the report's words
WRITTEN = {passage_gate.SEPARATED: 'separated', passage_gate.CLEAN: 'as it came in',
           passage_gate.MUSIC: 'as silence'}


def check(path, overwrite, audio=(), report=None):
    """Refuse ``--passage-report`` ``path`` before any work, as
    ``separation_report.check`` does, and where it is the ``--report``
    file too."""
    if report and path != '-' and os.path.realpath(path) == os.path.realpath(report):
        raise cli.UserError('{} {}: is the --report file too; give each its own '
                            'file'.format(OPTION, path))
    separation_report.check(path, overwrite, audio, option=OPTION)


def previous(path, seconds):
    """The inputs an earlier passage report at ``path`` has rows of (none
    if there is no file), for the inputs --skip-existing leaves out;
    ``cli.UserError`` if the file is not such a report, or if its passages
    are not ``seconds`` long (``--passage`` changed between the runs: the
    kept rows would lie on another grid than the new ones). Reads the rows
    one at a time: only each input's first two are held."""
    firsts = {}
    for entry in separation_report.read_table(path, COLUMNS, OPTION,
                                              'a make_separate.py passage report'):
        entries = firsts.setdefault(entry['input'], [])
        if len(entries) < 2:
            entries.append(entry)
    for source, entries in sorted(firsts.items()):
        length = passage_length(entries)
        if length is not None and abs(length - seconds) > GRID_TOLERANCE_S:
            raise cli.UserError(
                '{} {}: its passages of {} are {:g} s long and this run\'s --passage is '
                '{:g} s; give --passage {:g} as before, or a new report file'.format(
                    OPTION, path, source, length, seconds, length))
    return set(firsts)


# the report's bounds are written to 0.01 s, so a passage's length read
# back is off by up to that
GRID_TOLERANCE_S = 0.015


def passage_length(entries):
    """Seconds of the first passage of one input's report rows, or None
    where it is the only one (the whole file, however long the passages
    were) or its bounds are not numbers."""
    if len(entries) < 2:
        return None
    try:
        return float(entries[0]['end_s']) - float(entries[0]['start_s'])
    except ValueError:
        return None


class Spool:
    """The passage rows of the inputs one process separates, written as CSV
    cells to ``path`` as each input is done, in the order the process takes
    its inputs (the plan's, sorted by name). ``path`` is a hidden file
    beside the report (``util.temporary_path`` of ``report`` + ``SPOOL_TAG``
    and the process's ``rank`` under mpiexec, so that ranks on machines
    sharing the folder never share a name), which a killed run leaves for
    the next run to remove as a stale temporary."""

    def __init__(self, report, rank=0):
        self.report = report
        self.path = util.temporary_path('{}{}.rank{}'.format(report, SPOOL_TAG, rank))
        with util.writing(report):
            self.handle = util.open_csv(self.path, 'w')
        self.writer = csv.writer(self.handle)

    def add(self, file_rows):
        """Write one input's ``rows`` (dicts of ``COLUMNS``)."""
        with util.writing(self.report):
            self.writer.writerows([cells(r) for r in file_rows])

    def close(self):
        with util.writing(self.report):
            self.handle.close()


SPOOL_TAG = '.passages'


def cells(row):
    """A report row (dict of ``COLUMNS``) as the report's CSV cells: levels
    to 0.01, NaN as an empty cell."""
    return [util.table_cell(row[k], digits=2, nan='') for k in COLUMNS]


def write(path, spools, kept=()):
    """The report at ``path``, written atomically: the rows of the spool
    files ``spools`` (``Spool.path``), and the rows the report already at
    ``path`` has of the inputs ``kept`` (those --skip-existing left out),
    merged in the order of their inputs; the spools are removed. Each spool
    and the earlier report are in that order already, so the rows stream
    through one at a time."""
    try:
        with util.replacing(path) as tmp:
            with util.open_csv(tmp, 'w') as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                streams = [spooled(p) for p in spools] + [earlier_rows(path, set(kept))]
                for entry in heapq.merge(*streams, key=lambda cells: cells[0]):
                    writer.writerow(entry)
    finally:
        for spool in spools:
            if os.path.isfile(spool):
                os.remove(spool)


def spooled(spool):
    """The rows (lists of cells) of the spool file ``spool``, one at a time."""
    with util.open_csv(spool) as handle:
        yield from csv.reader(handle)


def earlier_rows(path, kept):
    """The rows (lists of cells) of the report at ``path`` whose input is in
    ``kept``, one at a time; none if there is no report or nothing is kept."""
    if not kept or not os.path.isfile(path):
        return
    with util.open_csv(path) as handle:
        for entry in csv.DictReader(handle):
            if entry['input'] in kept:
                yield [entry[k] for k in COLUMNS]
