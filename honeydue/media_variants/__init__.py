"""Variants of uploaded media. ``video``: a video's poster frame, the picture its THUMB is made from."""
