import sys

from datapipeline.bench.cli import main

sys.exit(main())
