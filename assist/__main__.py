import sys

from assist.builders.cli import main

sys.exit(main())
