"""The Starlette web UI where people sign the guestbook."""
