"""The entry controller (see entries/controller.py)."""
