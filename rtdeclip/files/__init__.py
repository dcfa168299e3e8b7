"""Files: decode (``audio_io``) -> detect -> declip to an atomic sink
(``pipeline``) -> log and JSON report (``report``) -> waveform plot (``plot``)."""
