import sys

from guestbook_ledger.cli import main

sys.exit(main())
