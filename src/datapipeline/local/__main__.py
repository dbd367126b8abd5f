import sys

from datapipeline.local.cli import main

sys.exit(main())
