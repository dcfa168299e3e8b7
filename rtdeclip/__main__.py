import sys

from rtdeclip.cli import main

sys.exit(main())
