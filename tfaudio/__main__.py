"""`python -m tfaudio` runs the `tfaudio` command."""

import sys

from tfaudio.cli.main import main

sys.exit(main())
