"""Many files, one machine or many: ``rtdeclip batch``.

discover.py finds the inputs and names their outputs (the input tree
mirrored under --output); outdir.py owns the output folder (lock, stale
temporaries, atomic byte writes); task.py is what runs for one file, in a
local process or on a Dask worker; local.py and dask_runner.py run the
tasks; summary.py keeps the JSON summary that makes a batch resumable.
Every file goes through ``rtdeclip.files.pipeline.declip_file``, the engine
of ``rtdeclip file``, so outputs are the same bytes.
"""
