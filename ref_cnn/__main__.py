import sys

from ref_cnn.cli import main

sys.exit(main())
