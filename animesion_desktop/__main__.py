import sys

from animesion_desktop.cli import main

sys.exit(main())
