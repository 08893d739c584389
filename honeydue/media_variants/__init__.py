"""Variants of uploaded media: smaller WebP renditions, the displayed size and a BlurHash placeholder.

* ``keys``: where a variant is stored (derived from its media's key, next to it) and every object a media has;
* ``images``: decoding an image (HEIC too) and rendering its variants, size and placeholder (Pillow);
* ``strip``: removing location and device metadata from an original before it is published;
* ``job``: the ``make_media_variants`` job finalizeUpload sends, dispatching on the content type;
* ``video``: a video's poster frame (``poster_frame(path_or_file) -> PIL.Image.Image``), the picture its THUMB
  is made from.
"""
