"""``rtdeclip demo``: declip a built-in clipped example and report the SDR
gained for each preset."""
import time

from rtdeclip import declip, sdr
from rtdeclip.examples import music
from rtdeclip.errors import ParameterError
from rtdeclip.core.metrics import clip_to_sdr


def register(sub):
    p = sub.add_parser("demo", help="declip a built-in clipped example and print the SDR gained")
    p.add_argument("--input-sdr", type=float, default=3.0,
                   help="how hard to clip the example, as SDR in dB (default 3)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of the example (default 4)")
    p.set_defaults(func=run)


def run(args):
    sr = 44100
    if not 0.5 <= args.seconds <= 600:
        raise ParameterError(f"--seconds must be between 0.5 and 600, got {args.seconds}")
    clean = music(sr, seconds=args.seconds)
    clipped, theta = clip_to_sdr(clean, args.input_sdr)
    print(f"example: {args.seconds:g} s of synthetic music at {sr} Hz, clipped at {theta:.3f} "
          f"({100 * (abs(clipped) >= theta).mean():.1f} % of samples), SDR {sdr(clean, clipped):.2f} dB")
    for preset in ("fastest", "average", "highquality"):
        t0 = time.perf_counter()
        restored = declip(clipped, sr, preset=preset, threshold="auto")
        dt = time.perf_counter() - t0
        print(f"  {preset:12s} SDR {sdr(clean, restored):6.2f} dB  "
              f"(+{sdr(clean, restored) - sdr(clean, clipped):5.2f} dB) in {dt:5.2f} s")
    return 0
