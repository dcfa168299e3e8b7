"""Built-in example signals (no files needed): a short piece of
synthetic music, and the CPU worst case of the real-time presets."""
import numpy as np


def music(sample_rate=44100, seconds=4.0, channels=1, seed=0):
    """Plucked-string and organ-like notes with harmonics and decaying
    envelopes, peak 0.95: sparse in frequency like real music."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    out = np.zeros((n, channels))
    notes = [220.0, 277.18, 329.63, 440.0, 369.99, 293.66, 246.94, 392.0]
    step = seconds / len(notes)
    for c in range(channels):
        x = np.zeros(n)
        for i, f0 in enumerate(notes):
            start = int((i * step + 0.01 * c) * sample_rate)
            tt = t[: n - start]
            env = np.exp(-tt * rng.uniform(1.5, 4.0)) * (1 - np.exp(-tt * 200))
            note = sum(rng.uniform(0.3, 1.0) / h * np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 6))
                       for h in range(1, 7) if f0 * h < sample_rate / 2)
            x[start:] += env * note
        out[:, c] = 0.95 * x / np.max(np.abs(x))
    return out[:, 0] if channels == 1 else out


def never_converging(sample_rate=48000, seconds=6.0, seed=0):
    """The real-time presets' CPU worst case, clipped at 0.3: a few partials
    plus white noise 26 dB below them, stereo, peak 1 before clipping.
    Every frame is clipped and the noise keeps SPADE's termination value
    above epsilon, so every frame spends its whole budget (a chord alone
    converges early and hides the cost)::

        >>> x = never_converging(48000, 0.5)
        >>> x.shape, float(abs(x).max())
        ((24000, 2), 0.3)
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    chans = []
    for _ in range(2):
        tone = sum(np.sin(2 * np.pi * rng.uniform(100, 3000) * t + rng.uniform(0, 6))
                   for _ in range(4))
        noise = rng.standard_normal(n)
        noise *= np.sqrt(np.mean(tone ** 2) / np.mean(noise ** 2)) * 10 ** (-26 / 20)
        chans.append(tone + noise)
    clean = np.stack(chans, axis=1)
    clean /= np.abs(clean).max()
    return np.clip(clean, -0.3, 0.3)
