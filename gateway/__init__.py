"""The media gateway: streams private objects with HTTP ranges to signed-link and bearer clients."""
