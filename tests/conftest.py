import os
import sys

# test helpers (audio_files.py) live beside the tests
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
