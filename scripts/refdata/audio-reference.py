#!/usr/bin/python3
"""Make the short test signals of testdata/audio and the reference features the unit tests
compare lib/audio with (tests/unit/test_audio.c).

    /usr/bin/python3 scripts/refdata/audio-reference.py [--out testdata/audio]

The features follow librosa 0.10's definitions with its defaults, written here from those
definitions in plain numpy and scipy (librosa itself is not needed, nor used):

  - load: int16 PCM / 32768, mean of the channels, analysis rate 22050 Hz (the signals are
    made at that rate, so no resampling is involved);
  - stft: n_fft 2048, hop 512, periodic Hann window, center=True with zero padding
    (pad_mode="constant"); the power spectrogram |X|^2;
  - melspectrogram: 128 bands, fmin 0, fmax sr/2, Slaney mel scale (htk=False) and Slaney
    area normalisation; the bank rounded to float32 as librosa stores it;
  - power_to_db: ref 1, amin 1e-10, top_db 80 (floor at the file's maximum minus 80 dB);
  - mfcc: scipy DCT-II with norm="ortho" over the bands, the first 13 coefficients;
  - onset_strength: mean over bands of max(0, S[t] - S[t-1]) of the dB mel spectrogram,
    shifted right by lag + n_fft // (2 hop) = 3 frames;
  - rms (zero-padded frames), spectral_centroid, spectral_bandwidth (p=2), spectral_rolloff
    (0.85), spectral_flatness (power 2, amin 1e-10), zero_crossing_rate (edge-padded frames,
    threshold 1e-10, zero counts as positive);
  - chroma_stft with tuning fixed at 0 (librosa would estimate it), norm=inf per frame.

Every computation is in float64, so the reference is more precise than librosa itself
(which works in float32); lib/audio works in float32 with double accumulators. The signals
are deterministic (fixed seeds), so running this again rewrites the same files.
"""
import argparse
import json
import os

import numpy as np
import scipy.fft
import scipy.io.wavfile

SR = 22050
N_FFT = 2048
HOP = 512
N_MELS = 128
N_MFCC = 13


# --- the test signals ------------------------------------------------------------------

def envelope(n, attack, decay):
    t = np.arange(n) / SR
    return np.minimum(1.0, t / attack) * np.exp(-t / decay)


def signal_tones():
    """A gliding harmonic tone with vibrato and a swell: 2 s, mono."""
    n = 2 * SR
    t = np.arange(n) / SR
    f0 = 220 * 2 ** (t / 2) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    y = sum(0.3 / h * np.sin(h * phase) for h in range(1, 7))
    return (y * (0.3 + 0.7 * np.sin(np.pi * t / 2))).reshape(-1, 1)


def signal_bursts():
    """Decaying noise bursts every 0.25 s on the left, a low tone and clicks on the right: 2 s."""
    rng = np.random.RandomState(4)
    n = 2 * SR
    t = np.arange(n) / SR
    left = np.zeros(n)
    for k in range(8):
        s = int(k * 0.25 * SR)
        m = min(n - s, int(0.2 * SR))
        left[s:s + m] += 0.5 * rng.standard_normal(m) * envelope(m, 0.002, 0.04)
    right = 0.2 * np.sin(2 * np.pi * 110 * t)
    for k in range(5):
        right[int((0.1 + 0.4 * k) * SR)] += 0.9
    return np.stack([left, right], axis=1)


def signal_quiet_then_loud():
    """-70 dBFS noise for 1 s, then a loud A minor chord: the 80 dB floor is set late."""
    rng = np.random.RandomState(7)
    n = 2 * SR
    t = np.arange(n) / SR
    y = 10 ** (-70 / 20) * rng.standard_normal(n)
    chord = sum(0.25 * np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63, 440.0))
    y[SR:] += chord[SR:] * envelope(n - SR, 0.01, 2.0)
    return y.reshape(-1, 1)


def signal_short():
    """0.3 s, not a whole number of hops: the edge frames and their padding."""
    rng = np.random.RandomState(9)
    n = int(0.3 * SR) + 37
    t = np.arange(n) / SR
    y = 0.4 * np.sin(2 * np.pi * 660 * t) + 0.1 * rng.standard_normal(n)
    return y.reshape(-1, 1)


SIGNALS = {
    "tones": signal_tones,
    "bursts": signal_bursts,
    "quiet-then-loud": signal_quiet_then_loud,
    "short": signal_short,
}


def to_int16(y):
    return np.clip(np.round(y * 32767), -32768, 32767).astype(np.int16)


# --- librosa's definitions, in numpy -------------------------------------------------------

def hz_to_mel(hz):
    hz = np.asanyarray(hz, dtype=float)
    f_sp = 200.0 / 3
    mel = hz / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz,
                    min_log_mel + np.log(np.maximum(hz, 1e-300) / min_log_hz) / logstep, mel)


def mel_to_hz(mel):
    mel = np.asanyarray(mel, dtype=float)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)),
                    f_sp * mel)


def mel_bank(sr, n_fft, n_mels):
    fftfreqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fftfreqs[None, :]
    w = np.zeros((n_mels, len(fftfreqs)), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        w[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    w = (w.astype(np.float64) * enorm[:, None]).astype(np.float32)
    return w.astype(np.float64)


def chroma_bank(sr, n_fft, n_chroma=12):
    freqs = np.arange(1, n_fft) * sr / n_fft
    frq = n_chroma * np.log2(freqs / (440.0 / 16))
    frq = np.concatenate(([frq[0] - 1.5 * n_chroma], frq))
    width = np.concatenate((np.maximum(frq[1:] - frq[:-1], 1.0), [1]))
    d = frq[None, :] - np.arange(n_chroma)[:, None]
    half = np.round(n_chroma / 2)
    d = np.remainder(d + half + 10 * n_chroma, n_chroma) - half
    w = np.exp(-0.5 * (2 * d / width[None, :]) ** 2)
    w = w / np.sqrt(np.sum(w ** 2, axis=0, keepdims=True))
    w = w * np.exp(-0.5 * ((frq / n_chroma - 5.0) / 2.0) ** 2)[None, :]
    w = np.roll(w, -3, axis=0)
    return w[:, :n_fft // 2 + 1].astype(np.float32).astype(np.float64)


def frames_of(y, mode):
    yp = np.pad(y, N_FFT // 2, mode=mode)
    n = 1 + len(y) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    return yp[idx]


def features(y):
    fr = frames_of(y, "constant")
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    power = np.abs(np.fft.rfft(fr * win, axis=1)) ** 2  # frames x bins
    mag = np.sqrt(power)
    freqs = np.arange(N_FFT // 2 + 1) * SR / N_FFT

    mel = power @ mel_bank(SR, N_FFT, N_MELS).T
    db = 10 * np.log10(np.maximum(1e-10, mel))
    db = np.maximum(db, db.max() - 80.0)
    mfcc = scipy.fft.dct(db, type=2, norm="ortho", axis=1)[:, :N_MFCC]

    flux = np.mean(np.maximum(0.0, db[1:] - db[:-1]), axis=1)
    onset = np.concatenate((np.zeros(3), flux))[:len(db)]

    rms = np.sqrt(np.mean(fr ** 2, axis=1))
    total = mag.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    norm = mag / safe[:, None]
    centroid = np.where(total > 0, norm @ freqs, 0.0)
    bandwidth = np.where(total > 0,
                         np.sqrt(np.sum(norm * (freqs[None, :] - centroid[:, None]) ** 2,
                                        axis=1)), 0.0)
    cum = np.cumsum(mag, axis=1)
    rolloff = np.array([freqs[np.argmax(c >= 0.85 * c[-1])] for c in cum])
    pt = np.maximum(1e-10, power)
    flatness = np.exp(np.mean(np.log(pt), axis=1)) / np.mean(pt, axis=1)

    fe = frames_of(y, "edge")
    fe = np.where(np.abs(fe) <= 1e-10, 0.0, fe)
    sign = np.signbit(fe)
    zcr = np.sum(sign[:, 1:] != sign[:, :-1], axis=1) / N_FFT

    raw = power @ chroma_bank(SR, N_FFT).T
    cmax = raw.max(axis=1)
    chroma = np.where(cmax[:, None] > 0, raw / np.where(cmax > 0, cmax, 1.0)[:, None], 0.0)

    def stat(x):
        return {"mean": float(np.mean(x)), "std": float(np.std(x))}

    return {
        "n_frames": int(len(db)),
        "mfcc": mfcc.tolist(),
        "onset": onset.tolist(),
        "mfcc_mean": np.mean(mfcc, axis=0).tolist(),
        "mfcc_std": np.std(mfcc, axis=0).tolist(),
        "rms": stat(rms),
        "centroid": stat(centroid),
        "bandwidth": stat(bandwidth),
        "rolloff": stat(rolloff),
        "flatness": stat(flatness),
        "zcr": stat(zcr),
        "chroma_mean": np.mean(chroma, axis=0).tolist(),
        "loudness_db": float(10 * np.log10(max(1e-10, np.mean(y ** 2)))),
    }


def rounded(x, digits=7):
    """Floats to digits significant digits, so that the JSON stays small."""
    if isinstance(x, float):
        return float(f"{x:.{digits}g}")
    if isinstance(x, list):
        return [rounded(v, digits) for v in x]
    if isinstance(x, dict):
        return {k: rounded(v, digits) for k, v in x.items()}
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                  "testdata", "audio"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, make in SIGNALS.items():
        pcm = to_int16(make())
        wav = os.path.join(args.out, name + ".wav")
        scipy.io.wavfile.write(wav, SR, pcm if pcm.shape[1] > 1 else pcm[:, 0])
        # What libsndfile's sf_readf_float gives, mixed as librosa mixes.
        y = np.mean(pcm.astype(np.float64) / 32768.0, axis=1)
        ref = {"signal": name, "sample_rate": SR, "channels": int(pcm.shape[1]),
               "n_samples": int(pcm.shape[0])}
        ref.update(features(y))
        with open(os.path.join(args.out, name + ".json"), "w") as f:
            json.dump(rounded(ref), f, separators=(",", ":"))
            f.write("\n")
        print(f"{wav}: {pcm.shape[0]} samples x {pcm.shape[1]}, {ref['n_frames']} frames")


if __name__ == "__main__":
    main()
