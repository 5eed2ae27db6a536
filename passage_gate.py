"""make_separate.py --keep-clean and --gate-music per passage: the passages
of a recording with no music under them written as they came in, and
those with no voice over them written as silence.

A podcast with a music intro, then talk, then a music bridge: the talk
comes out as it went in (``--keep-clean``), the intro and the bridge as
silence rather than what the mask leaves of them (``--gate-music``), and a
passage with both voice and music is separated. The estimates stream
through ``PassageGate.gated`` in passages of a fixed length, each judged
on its estimates' energies (``judge``):

- *clean*: the speech estimate more than ``keep_clean`` dB above the music
  estimate; the speech output is the mixture, the music output silence;
- *music*: the music estimate more than ``gate_music`` dB above the speech
  estimate; the speech output is silence, the music output the mixture;
- *separated*: anything else, and any passage a threshold of None leaves
  unjudged.

Where a clean or music passage meets a passage judged otherwise, it fades
over its own first or last ``fade`` samples, so that no output is changed
outside a gated passage and none jumps.

Written as gains, for a speech estimate ``s`` and a music estimate ``m``
(their sum is the mixture), a clean gain ``g`` and a music gain ``h``,
each from 0 (separated) to 1 (gated), never both above 0: the speech
output is ``(1 - h) s + g m`` and the music output ``(1 - g) m + h s``;
they still add up to the mixture.

Memory: two passages of estimates, whatever the recording's length.
"""
import numpy as np

import separation_report

SEPARATED, CLEAN, MUSIC = 'separated', 'clean', 'music'


def judge(speech_energy, music_energy, keep_clean=None, gate_music=None):
    """``CLEAN``, ``MUSIC`` or ``SEPARATED`` for estimates of these
    energies: clean where their speech-to-music ratio
    (``separation_report.ratio_db``) is above ``keep_clean`` dB, music
    where it is below ``-gate_music`` dB (None: never so judged). Two
    silences (a NaN ratio) are separated."""
    ratio = separation_report.ratio_db(speech_energy, music_energy)
    if keep_clean is not None and ratio > keep_clean:
        return CLEAN
    if gate_music is not None and ratio < -gate_music:
        return MUSIC
    return SEPARATED


class PassageGate:
    """Per-passage ``--keep-clean`` and ``--gate-music`` over a stream of
    ``(speech, music)`` estimates (``(samples,)`` or ``(samples,
    channels)``, any block sizes).

    ``keep_clean``, ``gate_music``: the thresholds of ``judge`` (dB; None:
    not judged so). ``passage``: samples per passage, from the start of the
    recording; a last passage shorter than half of one follows the passage
    before it. ``fade``: samples over which a gated passage fades in or
    out next to one judged otherwise (at most a passage). After ``gated``
    is spent, ``decisions`` lists each passage's ``(first sample, samples,
    kind)`` and ``energies`` its estimates' ``(speech, music, mixture)``
    energies (sums of squares, the mixture's of their sum, a short tail
    included), ``passages`` counts them and ``count(kind)`` those of a kind,
    and ``kept`` and ``silenced`` are the samples written as they came in
    and as silence (a fade counts for half). With both thresholds None
    every passage is separated and the outputs are the estimates: the gate
    then only cuts and measures passages (``--passage-report``).
    """

    def __init__(self, keep_clean, gate_music, passage, fade):
        if passage < 1:
            raise ValueError('a passage holds at least one sample')
        self.keep_clean, self.gate_music = keep_clean, gate_music
        self.passage = int(passage)
        self.fade = int(min(max(fade, 0), self.passage))
        self.kept = self.silenced = 0.0
        self.decisions = []     # (first sample, samples, kind) of each passage written
        self.energies = []      # (speech, music, mixture) energies of each passage written

    @property
    def passages(self):
        return len(self.decisions)

    def count(self, kind):
        """Passages judged ``kind`` so far."""
        return sum(judged == kind for _, _, judged in self.decisions)

    def gated(self, parts):
        """Yield ``(speech_out, music_out)``, a passage at a time, each
        passage's outputs as its judgement says; the samples are those of
        ``parts``, in order."""
        held = None             # (speech, music, kind) of the passage waiting for its next
        before = None           # the kind of the passage before ``held`` (None: none)
        for speech, music in self._passages(parts):
            energies = (energy(speech), energy(music), energy(speech + music))
            if held is not None and len(speech) < self.passage / 2:
                held = (np.concatenate([held[0], speech]),     # a short tail joins
                        np.concatenate([held[1], music]), held[2],   # the passage before it
                        tuple(a + b for a, b in zip(held[3], energies)))
                break
            kind = judge(energies[0], energies[1], self.keep_clean, self.gate_music)
            if held is not None:
                yield self._apply(held, before, kind)
                before = held[2]
            held = (speech, music, kind, energies)
        if held is not None:
            yield self._apply(held, before, None)

    def _passages(self, parts):
        """The stream cut into passages of ``self.passage`` samples (the
        last one shorter)."""
        pending, count = [], 0
        for speech, music in parts:
            speech, music = np.asarray(speech), np.asarray(music)
            start = 0
            while start < len(speech):
                take = min(self.passage - count, len(speech) - start)
                pending.append((speech[start:start + take], music[start:start + take]))
                count += take
                start += take
                if count == self.passage:
                    yield self._joined(pending)
                    pending, count = [], 0
        if count:
            yield self._joined(pending)

    @staticmethod
    def _joined(pieces):
        return (np.concatenate([s for s, _ in pieces]),
                np.concatenate([m for _, m in pieces]))

    def _apply(self, held, before, after):
        """The outputs of passage ``held`` given the kinds of the passages
        before and after it (None: there is none)."""
        speech, music, kind, energies = held
        start = self.decisions[-1][0] + self.decisions[-1][1] if self.decisions else 0
        self.decisions.append((start, len(speech), kind))
        self.energies.append(energies)
        if kind == SEPARATED:
            return speech, music
        gain = np.ones(len(speech), np.float32)
        if before is not None and before != kind:
            self._fade(gain, rising=True)
        if after is not None and after != kind:
            self._fade(gain, rising=False)
        if kind == CLEAN:
            self.kept += float(np.sum(gain))
        else:
            self.silenced += float(np.sum(gain))
        if music.ndim > 1:
            gain = gain[:, None]
        if kind == CLEAN:
            return speech + gain * music, (1.0 - gain) * music
        return (1.0 - gain) * speech, music + gain * speech

    def _fade(self, gain, rising):
        """A raised-cosine fade over ``self.fade`` samples at the start
        (``rising``) or the end of ``gain``, multiplied in."""
        n = min(self.fade, len(gain))
        if n == 0:
            return
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
        if rising:
            gain[:n] *= ramp
        else:
            gain[len(gain) - n:] *= ramp[::-1]


def energy(samples):
    """The sum of squares of ``samples`` (any shape), in float64."""
    samples = np.asarray(samples, np.float64)
    return float(np.sum(samples * samples))
