#!/usr/bin/python3
"""Build the tempo evaluation set: music whose tempo is known, rendered to WAV.

    scripts/bench/tempo-set.py [--out DIR] [--jobs N]     (default /work/data/tempo)

Two sources, each with its tempo stated in the MIDI file it is rendered from:

* pieces written here, note by note, with a fixed seed per piece: rock and pop grooves,
  dance (four on the floor), funk, punk, drum and bass, marches, waltzes in 3/4, swing with
  a walking bass, ballads, bossa nova, orchestral and choral pieces whose onsets are soft,
  solo piano (melody over an Alberti bass or block chords), and solo guitar picking; each
  with instruments drawn from the General MIDI families that suit the style, a key, a chord
  progression, slight timing and velocity variation, at tempos spread over 60 to 200 BPM.
  They are this project's own work, under its licence.
* the MIDI music of Debian's planetblupi-music-midi package (Planet Blupi, (c) 1997 Daniel
  Roux, EPSITEC SA and Denis Dumoulin, 2017-2018 Mathieu Schroeter; GPL-3+), those files
  whose tempo and time signature are one value throughout and the tempo not exactly 120
  BPM (MIDI's default, which a sequencer writes whether or not the music follows it), 30
  seconds from their start.

The stated tempo is the beat a listener taps, read from the file alone: MIDI's tempo is in
quarter notes per minute whatever the metre, so it is taken as it is in x/4 (every piece
here, and every Planet Blupi file, which are all 4/4 at one tempo from the first tick),
halved in cut time (x/2) and taken at the dotted quarter in compound metres (6/8, 9/8,
12/8; beat_bpm). No label was changed by that rule on this set.

Everything is rendered by fluidsynth with the FluidR3 General MIDI soundfont of Debian's
fluid-soundfont-gm (MIT licence) at 22050 Hz, and cut to 30 seconds by sox.

DIR/manifest.tsv lists name, tempo in BPM, metre, style, split, source. The split is fixed by
the name alone (the first byte of its SHA-1 even: "tune", odd: "held"), so that a piece
never changes sides when the set is rebuilt or grows; tempo is tuned on "tune" only and
reported on "held". The first 156 pieces split into 82 and 74; EXTRA_TUNE more pieces of
each style, named <style>-tNN and kept only when their name falls on the tuning side, give
the tuning half 184 pieces, so that its constants are not fitted to a few pieces of each
style, while the held-out half stays the same 74.
"""
import argparse
import concurrent.futures
import hashlib
import os
import random
import struct
import subprocess
import sys
import tempfile

SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
BLUPI = "/usr/share/planetblupi/music"
PPQ = 480
CLIP_SEC = 30
EXTRA_TUNE = 6  # tuning-only pieces per style, beyond the split ones


def split_of(name):
    return "tune" if hashlib.sha1(name.encode()).digest()[0] % 2 == 0 else "held"


# --- a minimal standard MIDI file writer and tempo reader ---------------------------------


def varlen(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


class Song:
    def __init__(self, bpm, num=4, den=4):
        self.bpm = bpm
        self.ev = []  # (tick, order, bytes)
        us = int(round(60e6 / bpm))
        self.ev.append((0, 0, b"\xff\x51\x03" + us.to_bytes(3, "big")))
        dd = {2: 1, 4: 2, 8: 3}[den]
        self.ev.append((0, 0, bytes([0xFF, 0x58, 0x04, num, dd, 24, 8])))

    def program(self, ch, prog, vol=100, pan=64, reverb=40):
        self.ev.append((0, 1, bytes([0xC0 | ch, prog])))
        self.ev.append((0, 1, bytes([0xB0 | ch, 7, vol])))
        self.ev.append((0, 1, bytes([0xB0 | ch, 10, pan])))
        self.ev.append((0, 1, bytes([0xB0 | ch, 91, reverb])))

    def note(self, ch, beat, dur_beats, pitch, vel, jitter=0.0, rng=None):
        t = beat * PPQ
        if jitter and rng is not None:
            t += rng.gauss(0, jitter) * PPQ
        t = max(0, int(round(t)))
        d = max(1, int(round(dur_beats * PPQ)))
        vel = max(1, min(127, int(vel)))
        pitch = max(0, min(127, int(pitch)))
        self.ev.append((t, 3, bytes([0x90 | ch, pitch, vel])))
        self.ev.append((t + d, 2, bytes([0x80 | ch, pitch, 0])))

    def write(self, path):
        self.ev.sort(key=lambda e: (e[0], e[1]))
        body = b""
        last = 0
        for t, _, data in self.ev:
            body += varlen(t - last) + data
            last = t
        body += varlen(0) + b"\xff\x2f\x00"
        with open(path, "wb") as f:
            f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, PPQ))
            f.write(b"MTrk" + struct.pack(">I", len(body)) + body)


def read_varlen(data, p):
    """A MIDI variable-length quantity at data[p]: (its value, the position after it)."""
    value = 0
    while True:
        c = data[p]
        p += 1
        value = (value << 7) | (c & 0x7F)
        if not c & 0x80:
            return value, p


def midi_meta(path):
    """Every tempo (BPM) and time signature (numerator, denominator) set in a standard MIDI
    file, each list in file order; None if unreadable."""
    data = open(path, "rb").read()
    if data[:4] != b"MThd":
        return None
    hlen = struct.unpack(">I", data[4:8])[0]
    fmt, ntr, div = struct.unpack(">HHH", data[8:14])
    if div & 0x8000:
        return None
    pos = 8 + hlen
    tempi, metres = [], []
    for _ in range(ntr):
        if data[pos:pos + 4] != b"MTrk":
            return None
        n = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        p, end, status = pos + 8, pos + 8 + n, 0
        while p < end:
            _, p = read_varlen(data, p)  # the event's delta time
            b = data[p]
            if b == 0xFF:
                typ = data[p + 1]
                ln, p = read_varlen(data, p + 2)
                if typ == 0x51:
                    tempi.append(60e6 / int.from_bytes(data[p:p + 3], "big"))
                elif typ == 0x58 and ln >= 2:
                    metres.append((data[p], 2 ** data[p + 1]))
                p += ln
            elif b in (0xF0, 0xF7):
                ln, p = read_varlen(data, p + 1)
                p += ln
            else:
                if b & 0x80:
                    status = b
                    p += 1
                hi = status & 0xF0
                p += 1 if hi in (0xC0, 0xD0) else 2
        pos = end
    return tempi, metres


def beat_bpm(quarter_bpm, metre):
    """The tempo a listener taps, from the MIDI tempo (always in quarter notes per minute) and
    the time signature: the quarter note in x/4 (and without a time signature, MIDI's 4/4),
    the half note in x/2 (cut time), the dotted quarter in compound x/8 (6/8, 9/8, 12/8),
    the eighth note in other x/8."""
    num, den = metre
    if den == 8 and num % 3 == 0 and num > 3:
        return quarter_bpm * 2 / 3
    return quarter_bpm * 4 / den


# --- harmony ---------------------------------------------------------------------------------

MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
PROGRESSIONS = {
    "major": [[0, 4, 5, 3], [0, 3, 4, 4], [0, 5, 3, 4], [0, 3, 0, 4], [1, 4, 0, 0]],
    "minor": [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 4], [0, 3, 6, 2]],
}


class Harmony:
    def __init__(self, rng):
        self.root = rng.randrange(12)
        self.minor = rng.random() < 0.45
        self.scale = MINOR if self.minor else MAJOR
        self.prog = rng.choice(PROGRESSIONS["minor" if self.minor else "major"])

    def degree_pitch(self, deg, octave):
        o, d = divmod(deg, 7)
        return 12 * (octave + o) + self.root + self.scale[d]

    def chord(self, bar, octave=4):
        deg = self.prog[bar % len(self.prog)]
        return [self.degree_pitch(deg + k, octave) for k in (0, 2, 4)]

    def bass(self, bar, octave=2):
        return self.degree_pitch(self.prog[bar % len(self.prog)], octave)

    def scale_note(self, deg, octave=5):
        return self.degree_pitch(deg, octave)


# General MIDI programs (0-based) by role.
PIANOS = [0, 1, 2, 4, 5]
ORGANS = [16, 17, 18]
GUITARS_CLEAN = [24, 25, 26, 27]
GUITARS_DIST = [29, 30]
BASSES = [32, 33, 34, 35, 38, 39]
STRINGS = [48, 49, 50]
CHOIR = [52, 53, 54]
BRASS = [56, 57, 61, 62]
REEDS = [64, 65, 66, 71, 73]
LEADS = [80, 81, 82, 87]
PADS = [88, 89, 90, 91, 94]
KICK, SNARE, RIM, CLAP, HAT, HAT_OPEN, RIDE, CRASH, TOM_LO, TOM_HI = 36, 38, 37, 39, 42, 46, 51, 49, 45, 50
SHAKER, CONGA_HI, CONGA_LO, CLAVE, TAMB = 70, 62, 64, 75, 54


def melody(s, rng, h, ch, bars, bpb, start_bar=0, octave=5, rhythm=None, vel=90, jitter=0.008):
    """A stepwise tune in the scale, held notes on strong beats."""
    deg = rng.randrange(0, 5)
    for bar in range(start_bar, bars):
        pos = 0.0
        pattern = rhythm or rng.choice([[1] * bpb, [2] + [1] * (bpb - 2), [0.5, 0.5] + [1] * (bpb - 1)])
        for d in pattern:
            if pos >= bpb:
                break
            if rng.random() < 0.85:
                s.note(ch, bar * bpb + pos, d * 0.9, h.scale_note(deg, octave), vel + rng.randint(-10, 8), jitter, rng)
            deg += rng.choice([-2, -1, -1, 1, 1, 2, 0])
            deg = max(-2, min(9, deg))
            pos += d


def drums_backbeat(s, rng, bars, eighths=True, sixteenths=False, vel=100, open_hat_off=False, jitter=0.004):
    for bar in range(bars):
        b0 = bar * 4
        for beat in range(4):
            if beat in (0, 2):
                s.note(9, b0 + beat, 0.25, KICK, vel + rng.randint(-6, 4), jitter, rng)
            else:
                s.note(9, b0 + beat, 0.25, SNARE, vel + rng.randint(-8, 2), jitter, rng)
            if rng.random() < 0.25 and beat == 2:
                s.note(9, b0 + beat + 0.5, 0.25, KICK, vel - 15, jitter, rng)
            steps = 4 if sixteenths else (2 if eighths else 1)
            for k in range(steps):
                hv = vel - 25 + (10 if k == 0 else 0) + rng.randint(-6, 6)
                note = HAT_OPEN if (open_hat_off and k == steps // 2) else HAT
                s.note(9, b0 + beat + k / steps, 0.2, note, hv, jitter, rng)
        if bar % 8 == 0:
            s.note(9, b0, 1, CRASH, vel - 10)


def comp_chords(s, rng, h, ch, bars, bpb, pattern, octave=4, vel=75, dur=0.9, jitter=0.006):
    for bar in range(bars):
        for pos in pattern:
            for p in h.chord(bar, octave):
                s.note(ch, bar * bpb + pos, dur, p, vel + rng.randint(-8, 6), jitter, rng)


def bass_line(s, rng, h, ch, bars, bpb, pattern, vel=95, octave=2, jitter=0.005, fifths=False):
    for bar in range(bars):
        r = h.bass(bar, octave)
        for i, pos in enumerate(pattern):
            p = r + (7 if fifths and i % 2 == 1 else 0)
            s.note(ch, bar * bpb + pos, 0.45, p, vel + rng.randint(-8, 4), jitter, rng)


# --- styles: each fills a Song of `bars` bars ----------------------------------------------


def style_rock(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    s.program(0, rng.choice(GUITARS_DIST + GUITARS_CLEAN), 90)
    s.program(1, rng.choice(BASSES), 100)
    s.program(2, rng.choice(LEADS + ORGANS + REEDS), 85)
    drums_backbeat(s, rng, bars, eighths=True)
    comp_chords(s, rng, h, 0, bars, 4, [0, 1.5, 2, 3.5] if rng.random() < 0.5 else [0, 1, 2, 3], octave=4, dur=0.4)
    bass_line(s, rng, h, 1, bars, 4, [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5])
    melody(s, rng, h, 2, bars, 4, start_bar=2)
    return s


def style_pop(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    s.program(0, rng.choice(PIANOS + GUITARS_CLEAN), 85)
    s.program(1, rng.choice(BASSES), 100)
    s.program(2, rng.choice(PADS + STRINGS), 70)
    s.program(3, rng.choice(LEADS + REEDS + [73, 11]), 90)
    drums_backbeat(s, rng, bars, eighths=rng.random() < 0.6, sixteenths=rng.random() < 0.3, vel=95)
    comp_chords(s, rng, h, 0, bars, 4, [0, 1, 2, 3], octave=4, dur=0.5)
    comp_chords(s, rng, h, 2, bars, 4, [0], octave=4, vel=60, dur=3.9)
    bass_line(s, rng, h, 1, bars, 4, [0, 1.5, 2, 3] if rng.random() < 0.5 else [0, 2])
    melody(s, rng, h, 3, bars, 4, start_bar=1)
    return s


def style_dance(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    s.program(0, rng.choice(PADS + [81, 87]), 80)
    s.program(1, rng.choice([38, 39, 87]), 100)
    for bar in range(bars):
        for beat in range(4):
            t = bar * 4 + beat
            s.note(9, t, 0.2, KICK, 115)
            s.note(9, t + 0.5, 0.2, HAT_OPEN, 80 + rng.randint(-5, 5))
            if beat in (1, 3):
                s.note(9, t, 0.2, CLAP, 95)
            for k in (0.25, 0.75):
                s.note(9, t + k, 0.1, HAT, 55 + rng.randint(-8, 8))
    bass_line(s, rng, h, 1, bars, 4, [0.5, 1.5, 2.5, 3.5], vel=100)
    comp_chords(s, rng, h, 0, bars, 4, [0, 0.75, 1.5, 2.5, 3.25] if rng.random() < 0.5 else [0], octave=4, dur=0.3, vel=70)
    return s


def style_funk(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    s.program(0, rng.choice(GUITARS_CLEAN + [4, 16]), 85)
    s.program(1, rng.choice([36, 37, 38]), 105)
    s.program(2, rng.choice(BRASS), 95)
    drums_backbeat(s, rng, bars, sixteenths=True, vel=100)
    for bar in range(bars):
        for k in range(16):
            if rng.random() < 0.55:
                for p in h.chord(bar, 4)[1:]:
                    s.note(0, bar * 4 + k / 4, 0.12, p, 70 + (15 if k % 4 == 0 else 0), 0.004, rng)
    bass_line(s, rng, h, 1, bars, 4, [0, 0.75, 1.5, 2, 2.75, 3.5], vel=100)
    for bar in range(1, bars, 2):
        for p in h.chord(bar, 5):
            s.note(2, bar * 4 + 3.5, 0.4, p, 100)
    return s


def style_punk(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    s.program(0, rng.choice(GUITARS_DIST), 95)
    s.program(1, rng.choice([33, 34]), 100)
    drums_backbeat(s, rng, bars, eighths=False, vel=110)
    comp_chords(s, rng, h, 0, bars, 4, [k / 2 for k in range(8)], octave=3, dur=0.4, vel=90)
    bass_line(s, rng, h, 1, bars, 4, [k / 2 for k in range(8)])
    return s


def style_dnb(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    s.program(0, rng.choice(PADS), 80)
    s.program(1, rng.choice([38, 39]), 105)
    for bar in range(bars):
        b0 = bar * 4
        for t in (0, 2.5):
            s.note(9, b0 + t, 0.2, KICK, 110)
        for t in (1, 3):
            s.note(9, b0 + t, 0.2, SNARE, 112)
        for k in range(8):
            s.note(9, b0 + k / 2, 0.1, HAT if k % 2 else RIDE, 60 + rng.randint(-8, 8))
    comp_chords(s, rng, h, 0, bars, 4, [0], octave=4, dur=3.9, vel=65)
    bass_line(s, rng, h, 1, bars, 4, [0, 2.5], vel=105, octave=1)
    return s


def style_march(rng, bpm):
    s, h = Song(bpm, 2, 4), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 120) + 2
    s.program(0, rng.choice(BRASS), 100)
    s.program(1, 58, 100)  # tuba
    s.program(2, rng.choice([72, 73, 56]), 90)
    for bar in range(bars):
        b0 = bar * 2
        s.note(9, b0, 0.3, 35, 105)
        s.note(9, b0 + 1, 0.3, SNARE, 95)
        s.note(9, b0 + 1.5, 0.2, SNARE, 70)
        if bar % 2:
            s.note(9, b0, 0.5, 55, 80)  # cymbal
    bass_line(s, rng, h, 1, bars, 2, [0, 1], fifths=True)
    comp_chords(s, rng, h, 0, bars, 2, [0.5, 1.5], octave=4, dur=0.35, vel=80)
    melody(s, rng, h, 2, bars, 2, start_bar=1, octave=5, vel=95)
    return s


def style_waltz(rng, bpm):
    s, h = Song(bpm, 3, 4), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 180) + 2
    inst = rng.choice([PIANOS, STRINGS, [21, 23], [46, 0]])
    s.program(0, rng.choice(inst), 90)
    s.program(1, rng.choice(inst + [32, 43]), 95)
    s.program(2, rng.choice(STRINGS + REEDS + [40, 73]), 95)
    bass_line(s, rng, h, 1, bars, 3, [0], octave=2, vel=100)
    comp_chords(s, rng, h, 0, bars, 3, [1, 2], octave=4, dur=0.5, vel=70)
    melody(s, rng, h, 2, bars, 3, rhythm=rng.choice([[2, 1], [1, 1, 1], [3]]), vel=95)
    return s


def style_swing(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    sw = 2 / 3 if bpm < 180 else 0.6
    s.program(0, rng.choice([0, 4, 26, 11]), 80)
    s.program(1, 32, 100)
    s.program(2, rng.choice([65, 66, 56, 57, 61, 71]), 95)
    for bar in range(bars):
        b0 = bar * 4
        for beat in range(4):
            s.note(9, b0 + beat, 0.3, RIDE, 80 + rng.randint(-6, 6), 0.005, rng)
            if beat in (1, 3):
                s.note(9, b0 + beat + sw, 0.2, RIDE, 65, 0.005, rng)
                s.note(9, b0 + beat, 0.2, 44, 75)  # pedal hi-hat
            if rng.random() < 0.15:
                s.note(9, b0 + beat + sw, 0.2, SNARE, 50)
            s.note(9, b0 + beat, 0.2, KICK, 40)
        deg = 0
        for beat in range(4):  # walking bass
            s.note(1, b0 + beat, 0.9, h.bass(bar, 2) + [0, 4, 7, rng.choice([9, 10, 5])][beat] - (12 if deg else 0), 95, 0.006, rng)
        for pos in rng.choice([[1 + sw, 3], [0, 2 + sw], [1.5 + sw - 0.5, 3 + sw]]):
            for p in h.chord(bar, 4):
                s.note(0, b0 + pos, 0.3, p, 65, 0.006, rng)
    melody(s, rng, h, 2, bars, 4, start_bar=1, rhythm=[1, sw, 1 - sw, 1, 1], vel=95, jitter=0.01)
    return s


def style_ballad(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    s.program(0, rng.choice(PIANOS + [24]), 85)
    s.program(1, rng.choice(BASSES + [42]), 90)
    s.program(2, rng.choice(STRINGS + PADS), 65)
    s.program(3, rng.choice([73, 71, 52, 40, 65, 0]), 95)
    drums = rng.random() < 0.6
    for bar in range(bars):
        b0 = bar * 4
        ch = h.chord(bar, 4)
        arp = [ch[0] - 12, ch[1], ch[2], ch[1] + 12, ch[2], ch[1], ch[0] + 12, ch[2]]
        if rng.random() < 0.5:
            for k in range(8):
                s.note(0, b0 + k / 2, 0.6, arp[k], 62 + (12 if k % 2 == 0 else 0), 0.01, rng)
        else:
            for beat in range(4):
                for p in ch:
                    s.note(0, b0 + beat, 0.9, p, 60 + (10 if beat in (0, 2) else 0), 0.01, rng)
        s.note(1, b0, 1.8, h.bass(bar, 2), 90)
        s.note(1, b0 + 2, 1.8, h.bass(bar, 2) + 7, 80)
        for p in ch:
            s.note(2, b0, 3.9, p, 55)
        if drums:
            s.note(9, b0, 0.3, KICK, 85)
            s.note(9, b0 + 2.5, 0.3, KICK, 60)
            s.note(9, b0 + 1, 0.3, rng.choice([RIM, SNARE]), 80)
            s.note(9, b0 + 3, 0.3, rng.choice([RIM, SNARE]), 80)
            for k in range(8):
                s.note(9, b0 + k / 2, 0.2, HAT, 50)
    melody(s, rng, h, 3, bars, 4, start_bar=1, rhythm=rng.choice([[2, 1, 1], [1, 1, 2], [1.5, 0.5, 2]]), vel=90)
    return s


def style_bossa(rng, bpm):
    s, h = Song(bpm), Harmony(rng)
    bars = int(CLIP_SEC * bpm / 240) + 2
    s.program(0, rng.choice([24, 25, 0]), 90)
    s.program(1, rng.choice([32, 33]), 95)
    s.program(2, rng.choice([73, 65, 66, 11]), 90)
    for bar in range(bars):
        b0 = bar * 4
        for k in range(8):
            s.note(9, b0 + k / 2, 0.1, SHAKER, 60 + (12 if k % 2 == 0 else 0))
        for t in (0, 1.5, 3):
            s.note(9, b0 + t, 0.2, RIM, 75)
        s.note(9, b0, 0.2, KICK, 70)
        s.note(9, b0 + 2, 0.2, KICK, 70)
        for pos in (0, 1.5, 2.5, 3.5) if bar % 2 == 0 else (0.5, 1.5, 3):
            for p in h.chord(bar, 4):
                s.note(0, b0 + pos, 0.4, p, 65, 0.006, rng)
    bass_line(s, rng, h, 1, bars, 4, [0, 1.5, 2, 3.5], fifths=True)
    melody(s, rng, h, 2, bars, 4, start_bar=1, vel=85)
    return s


def style_orchestral(rng, bpm):
    """Strings or choir: legato, soft attacks, the beat carried by harmony and a slow bass."""
    num = rng.choice([4, 3])
    s, h = Song(bpm, num, 4), Harmony(rng)
    bars = int(CLIP_SEC * bpm / (60 * num)) + 2
    body = rng.choice([STRINGS, CHOIR, [48, 52], [49, 60, 68]])
    s.program(0, rng.choice(body), 85, reverb=80)
    s.program(1, rng.choice(body), 85, reverb=80)
    s.program(2, rng.choice([42, 43, 32, 58, 45]), 95, reverb=70)
    s.program(3, rng.choice([40, 68, 71, 73, 60, 52, 56]), 95, reverb=80)
    for bar in range(bars):
        b0 = bar * num
        ch = h.chord(bar, 4)
        for beat in range(num):
            # inner voices re-sound on each beat, softly: the pulse is there but weak
            for p in ch[1:]:
                s.note(0, b0 + beat, 0.95, p, 48 + (10 if beat == 0 else 0), 0.012, rng)
        s.note(1, b0, num - 0.1, ch[0] - 12, 60, 0.01, rng)
        for beat in range(0, num, 1 if rng.random() < 0.6 else 2):
            s.note(2, b0 + beat, 0.6, h.bass(bar, 2), 80 + (10 if beat == 0 else 0), 0.01, rng)
    melody(s, rng, h, 3, bars, num, start_bar=1, rhythm=rng.choice([[1] * num, [2, 1] if num == 3 else [2, 1, 1], [num]]), vel=85, jitter=0.015)
    return s


def style_piano(rng, bpm):
    num = rng.choice([4, 4, 3])
    s, h = Song(bpm, num, 4), Harmony(rng)
    bars = int(CLIP_SEC * bpm / (60 * num)) + 2
    s.program(0, rng.choice([0, 1, 2, 0, 7]), 95)
    alberti = rng.random() < 0.5
    for bar in range(bars):
        b0 = bar * num
        ch = h.chord(bar, 3)
        if alberti:
            pat = [ch[0], ch[2], ch[1], ch[2]] * 2
            for k in range(num * 2):
                s.note(0, b0 + k / 2, 0.45, pat[k % len(pat)], 58 + (14 if k % 2 == 0 else 0) + (8 if k == 0 else 0), 0.01, rng)
        else:
            s.note(0, b0, 0.9, ch[0] - 12, 85)
            for beat in range(1, num):
                for p in ch:
                    s.note(0, b0 + beat, 0.8, p + 12, 62, 0.01, rng)
    melody(s, rng, h, 0, bars, num, start_bar=0, octave=5, vel=92, jitter=0.012)
    return s


def style_guitar(rng, bpm):
    num = rng.choice([4, 3])
    s, h = Song(bpm, num, 4), Harmony(rng)
    bars = int(CLIP_SEC * bpm / (60 * num)) + 2
    s.program(0, rng.choice([24, 25]), 100)
    for bar in range(bars):
        b0 = bar * num
        ch = h.chord(bar, 3)
        s.note(0, b0, num * 0.95, h.bass(bar, 2), 90)
        picks = [ch[1], ch[2], ch[0] + 12, ch[2], ch[1] + 12, ch[2]]
        for k in range(2 * num):
            if k == 0:
                continue
            s.note(0, b0 + k / 2, 0.9, picks[k % len(picks)], 62 + (12 if k % 2 == 0 else 0), 0.01, rng)
    return s


# style: (maker, tempo range, count, metre label)
STYLES = {
    "rock": (style_rock, (96, 168), 12, "4/4"),
    "pop": (style_pop, (84, 132), 12, "4/4"),
    "dance": (style_dance, (115, 135), 8, "4/4"),
    "funk": (style_funk, (88, 118), 6, "4/4"),
    "punk": (style_punk, (165, 200), 6, "4/4"),
    "dnb": (style_dnb, (160, 178), 4, "4/4"),
    "march": (style_march, (100, 132), 6, "2/4"),
    "waltz": (style_waltz, (84, 192), 10, "3/4"),
    "swing": (style_swing, (100, 200), 10, "4/4"),
    "ballad": (style_ballad, (60, 84), 10, "4/4"),
    "bossa": (style_bossa, (110, 145), 6, "4/4"),
    "orchestral": (style_orchestral, (60, 120), 12, "4/4 or 3/4"),
    "piano": (style_piano, (60, 140), 10, "4/4 or 3/4"),
    "guitar": (style_guitar, (66, 130), 6, "4/4 or 3/4"),
    # A second batch of the soft-onset styles, under names of their own so that the first
    # batch's pieces and sides stay as they were: the first had too few of them to tune on.
    "chamber": (style_orchestral, (84, 150), 12, "4/4 or 3/4"),
    "nocturne": (style_piano, (56, 100), 10, "4/4 or 3/4"),
    "folk": (style_guitar, (72, 150), 10, "4/4 or 3/4"),
}


def render(mid, wav, tmpdir):
    raw = os.path.join(tmpdir, os.path.basename(wav) + ".raw.wav")
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", "22050", "-F", raw, SF2, mid],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["sox", raw, "-b", "16", wav, "trim", "0", str(CLIP_SEC), "gain", "-n", "-3"],
                   check=True)
    os.unlink(raw)


def job(item, out, tmpdir):
    name, bpm, metre, style, source, mid = item
    wav = os.path.join(out, name + ".wav")
    if mid is None:
        rng = random.Random("fermata-tempo-" + name)
        song = STYLES[style][0](rng, bpm)
        mid = os.path.join(out, "midi", name + ".mid")
        song.write(mid)
    if not os.path.exists(wav):
        render(mid, wav, tmpdir)
    return name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/work/data/tempo")
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args()
    for tool in ("fluidsynth", "sox"):
        if subprocess.run(["sh", "-c", "command -v " + tool], stdout=subprocess.DEVNULL).returncode:
            sys.exit("tempo-set: %s is missing (apt-get install %s)" % (tool, tool))
    if not os.path.exists(SF2):
        sys.exit("tempo-set: %s is missing (apt-get install fluid-soundfont-gm)" % SF2)
    os.makedirs(os.path.join(a.out, "midi"), exist_ok=True)

    items = []
    for style, (_, (lo, hi), count, metre) in STYLES.items():
        for i in range(count):
            # tempi spread evenly over the style's range, then nudged off round numbers
            bpm = lo + (hi - lo) * (i + 0.5) / count
            bpm = round(bpm + random.Random(style + str(i)).uniform(-1.5, 1.5), 1)
            items.append(("%s-%02d" % (style, i), bpm, metre, style, "fermata", None))
    # More pieces for tuning only: names tried in turn, kept when the split rule puts them on
    # the tuning side, so that the held-out half stays the same pieces.
    for style, (_, (lo, hi), count, metre) in STYLES.items():
        kept, j = 0, 0
        while kept < EXTRA_TUNE:
            name = "%s-t%02d" % (style, j)
            j += 1
            if split_of(name) != "tune":
                continue
            bpm = lo + (hi - lo) * (kept + 0.5) / EXTRA_TUNE
            bpm = round(bpm + random.Random(name).uniform(-1.5, 1.5), 1)
            items.append((name, bpm, metre, style, "fermata", None))
            kept += 1
    if os.path.isdir(BLUPI):
        for f in sorted(os.listdir(BLUPI)):
            if not f.endswith(".mid"):
                continue
            meta = midi_meta(os.path.join(BLUPI, f))
            if meta is None:
                continue
            tempi, metres = meta
            if not tempi or max(tempi) - min(tempi) > 0.01 or len(set(metres)) > 1:
                continue  # no tempo, or a tempo or metre that changes: not a steady answer
            if abs(tempi[0] - 120) < 0.01:
                continue  # MIDI's default: perhaps a sequencer's, not the composer's
            metre = metres[0] if metres else (4, 4)
            items.append(("blupi-" + f[:-4], round(beat_bpm(tempi[0], metre), 2), "%d/%d" % metre, "game", "planetblupi-music-midi (GPL-3+)", os.path.join(BLUPI, f)))
    else:
        print("tempo-set: %s missing (apt-get install planetblupi-music-midi); made pieces only" % BLUPI, file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmpdir, concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for name in ex.map(lambda it: job(it, a.out, tmpdir), items):
            pass
    with open(os.path.join(a.out, "manifest.tsv"), "w") as f:
        f.write("name\tbpm\tmetre\tstyle\tsplit\tsource\n")
        for name, bpm, metre, style, source, _ in items:
            f.write("%s\t%g\t%s\t%s\t%s\t%s\n" % (name, bpm, metre, style, split_of(name), source))
    held = sum(split_of(it[0]) == "held" for it in items)
    print("tempo-set: %d clips in %s (%d tune, %d held out)" % (len(items), a.out, len(items) - held, held))


if __name__ == "__main__":
    main()
