import sys

from guestbook_cli.dispatch import main

sys.exit(main())
