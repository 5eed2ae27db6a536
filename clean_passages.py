"""make_separate.py --keep-clean per passage: the passages of a recording
with no music under them written as they came in.

A podcast with a music intro and then talk: the intro is separated, the
talk left as it was. The estimates stream through ``PassageGate.gated`` in
passages of a fixed length; a passage whose speech estimate stands more
than the threshold above its music estimate is *clean*, and there the
speech output is the mixture itself. Elsewhere it is the separated speech.
Where a clean passage meets one that is not, the clean one fades over its
first or last ``fade`` samples, so that music is never let through outside
a clean passage and no output jumps.

Written as gains, for a speech estimate ``s`` and a music estimate ``m``
(their sum is the mixture) and a gain ``g`` from 0 (separated) to 1
(clean): the speech output is ``s + g m`` and the music output
``(1 - g) m``; they still add up to the mixture.

Memory: two passages of estimates, whatever the recording's length.
"""
import numpy as np

import separation_report


def is_clean(speech_energy, music_energy, threshold_db):
    """Whether estimates of these energies are clean: their speech-to-music
    ratio (``separation_report.ratio_db``) above ``threshold_db``. Two
    silences (NaN) are not clean."""
    return bool(separation_report.ratio_db(speech_energy, music_energy) > threshold_db)


class PassageGate:
    """Per-passage ``--keep-clean`` over a stream of ``(speech, music)``
    estimates (``(samples,)`` or ``(samples, channels)``, any block sizes).

    ``threshold_db``: a passage is clean when its speech-to-music ratio
    (dB, ``separation_report.ratio_db`` of the estimates' energies) is above
    it. ``passage``: samples per passage, from the start of the recording; a
    last passage shorter than half of one follows the passage before it.
    ``fade``: samples over which a clean passage fades in or out next to a
    passage that is not (at most a passage). After ``gated`` is spent,
    ``decisions`` lists each passage's ``(first sample, samples, clean)``,
    ``passages`` and ``clean`` count them, and ``kept`` is the samples
    written as they came in (a fade counts for half).
    """

    def __init__(self, threshold_db, passage, fade):
        if passage < 1:
            raise ValueError('a passage holds at least one sample')
        self.threshold_db = threshold_db
        self.passage = int(passage)
        self.fade = int(min(max(fade, 0), self.passage))
        self.kept = 0.0
        self.decisions = []     # (first sample, samples, clean) of each passage written

    @property
    def passages(self):
        return len(self.decisions)

    @property
    def clean(self):
        return sum(clean for _, _, clean in self.decisions)

    def gated(self, parts):
        """Yield ``(speech_out, music_out)``, a passage at a time, with the
        clean passages' speech output the mixture and their music output
        silence; the samples are those of ``parts``, in order."""
        held = None         # (speech, music, clean) of the passage waiting for its next
        before = False      # whether the passage before ``held`` was clean
        for speech, music in self._passages(parts):
            if held is not None and len(speech) < self.passage / 2:
                held = (np.concatenate([held[0], speech]),     # a short tail joins
                        np.concatenate([held[1], music]), held[2])   # the passage before it
                break
            clean = is_clean(energy(speech), energy(music), self.threshold_db)
            if held is not None:
                yield self._apply(held, before, clean)
                before = held[2]
            held = (speech, music, clean)
        if held is not None:
            yield self._apply(held, before, False, last=True)

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

    def _apply(self, held, before, after, last=False):
        """The outputs of passage ``held`` given whether the passages before
        and after it are clean (``last``: there is none after it)."""
        speech, music, clean = held
        start = self.decisions[-1][0] + self.decisions[-1][1] if self.decisions else 0
        self.decisions.append((start, len(speech), clean))
        if not clean:
            return speech, music
        gain = np.ones(len(speech), np.float32)
        if self.passages > 1 and not before:
            self._fade(gain, rising=True)
        if not last and not after:
            self._fade(gain, rising=False)
        self.kept += float(np.sum(gain))
        if music.ndim > 1:
            gain = gain[:, None]
        return speech + gain * music, (1.0 - gain) * music

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
