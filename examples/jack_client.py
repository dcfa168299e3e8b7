"""A JACK client (JACK-Client package: ``pip install rtdeclip[jack]``) that
declips its inputs to its outputs, one mono Declipper per port, straight on
JACK's buffers: ``process(port.get_array(), out=out.get_array())`` copies
nothing and allocates nothing per period.

    python examples/jack_client.py                       # until Ctrl-C
    python examples/jack_client.py --seconds 10 --connect system:capture_1,system:capture_2

Its ports are rtdeclip:in_N and rtdeclip:out_N; connect a player to the
inputs (qjackctl, jack_connect) and the outputs to the speakers.  A JACK
server must be running (``jackd -d dummy -r 48000 -p 256`` where there is no
sound card).
"""
import argparse
import threading

import jack

import rtdeclip

ap = argparse.ArgumentParser()
ap.add_argument("--channels", type=int, default=2)
ap.add_argument("--preset", default="fastest")
ap.add_argument("--seconds", type=float, default=None)
ap.add_argument("--connect", default="", help="comma-separated output ports to declip")
args = ap.parse_args()

client = jack.Client("rtdeclip", no_start_server=True)
sr = client.samplerate
ins = [client.inports.register(f"in_{c + 1}") for c in range(args.channels)]
outs = [client.outports.register(f"out_{c + 1}") for c in range(args.channels)]
declippers = [rtdeclip.Declipper(sr, channels=1, preset=args.preset) for _ in ins]
xruns = [0]
done = threading.Event()


@client.set_process_callback
def process(frames):
    for d, i, o in zip(declippers, ins, outs):
        d.process(i.get_array(), out=o.get_array())   # float32 views of JACK's buffers


@client.set_xrun_callback
def xrun(delay):
    xruns[0] += 1


@client.set_shutdown_callback
def shutdown(status, reason):
    print("JACK went away:", reason)
    done.set()


with client:
    for src, dst in zip([p for p in args.connect.split(",") if p], ins):
        client.connect(src, dst)
    lat = declippers[0].latency_samples
    print(f"rtdeclip JACK client at {sr} Hz, period {client.blocksize}: declipper latency "
          f"{lat} samples ({1000 * lat / sr:.1f} ms)", flush=True)
    try:
        done.wait(args.seconds)
    except KeyboardInterrupt:
        pass
print(f"xruns {xruns[0]}; frames solved {sum(d.stats['frames_solved'] for d in declippers)}, "
      f"clipped samples {sum(d.stats['clipped_samples'] for d in declippers)}")
