"""Declip a signal in memory and score it against the clean original.

    python examples/offline_declip.py
"""
import rtdeclip
from rtdeclip.examples import music

sr = 44100
clean = music(sr, seconds=3.0, channels=2)                # a built-in stereo example
clipped, theta = rtdeclip.clip_to_sdr(clean[:, 0], 5.0)   # find the level giving 5 dB SDR
clipped = clean.clip(-theta, theta)                       # clip both channels there

for preset in ("fastest", "average", "highquality"):
    restored = rtdeclip.declip(clipped, sr, preset=preset)  # clip levels estimated per channel
    gain = rtdeclip.sdr(clean, restored) - rtdeclip.sdr(clean, clipped)
    print(f"{preset:12s} SDR gained per channel: {gain.round(2)} dB")
