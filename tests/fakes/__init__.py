"""Local stand-ins for outside services that check what the real ones check (push services)."""
