"""Every threshold of the document quality gate, in one place, with the reason for its value.

The gate judges the perspective-corrected document at a fixed size (``WARP_WIDTH_PX``), so
the thresholds below mean the same whatever the camera's resolution. They were set from
what a human reader needs (the smallest print on an Indonesian ID card, the KTP, is about
1.5 mm tall) and checked against the generated corpus in ``tests/data/quality`` and a fresh
corpus drawn with another seed in the tests; see docs/quality.md.
"""

from __future__ import annotations

# --- Geometry of what is judged ---------------------------------------------------------------
ID_CARD_MM = (85.6, 53.98)  # ISO/IEC 7810 ID-1: KTP, BPJS membership card, bank cards
WARP_WIDTH_PX = 856  # 10 px/mm for an ID card: enough for 1.5 mm print, cheap to judge
OUTLINE_WIDTH_PX = 640  # outlines are found on a copy this wide: 4x fewer pixels at 720p
WARP_INSET = 0.03  # share of the warped document trimmed on each side before judging, so
# that the desk showing past rounded corners or a slightly loose outline is never judged

# --- Finding the document ------------------------------------------------------------------------
MIN_DOC_AREA_SHARE = 0.02  # a document smaller than 2 % of the frame is not one we can use
BORDER_TOUCH_PX = 3  # outline points this close to the frame edge (at outline scale) mean
# the document runs off the picture
MIN_MARGIN_SHARE = 0.01  # corners closer than 1 % of the frame size to its edge: too tight
ASPECT_TOLERANCE = 0.22  # the outline's side ratio may differ this much (relative) from
# the document's: perspective changes it a little; a phone or a book page differs more
MAX_PLAUSIBLE_KEYSTONE = 0.45  # sides differing more than this are not a card under a
# document camera but a chance shape in the desk's texture
MAX_STRETCH_GAIN = 2.0  # contrast stretch before edge search never multiplies by more
CANNY_LOW, CANNY_HIGH = 30, 90  # edge thresholds on the contrast-stretched, smoothed grey

# --- Verdict thresholds ---------------------------------------------------------------------------
MIN_PPI = 150.0  # 1.5 mm print is ~9 px tall at 150 ppi: the least that stays legible
MAX_TILT_DEG = 12.0  # turned further than this in the frame, the card is not in the holder
# squarely and its far side loses resolution; the participant can easily straighten it
MAX_KEYSTONE = 0.12  # opposite sides differing by more than 12 %: the card is lifted or
# leaning towards the camera, so one edge is blurred by depth of field and print shrinks
MIN_SHARPNESS = 0.40  # steepest edges (99.5th percentile of the gradient, in the blurrier
# direction) must climb at least 40 % of the document's contrast per pixel at 10 px/mm;
# crisp print does 60-70 %, a blur of sigma 2.5 px or a 15 px shake brings it under 30 %
DARK_P95 = 95.0  # the brightest part of the card (paper, white print) below this: too dark
BRIGHT_P50 = 245.0  # half the card washed to near white: over-exposed
BRIGHT_SATURATED_SHARE = 0.35  # or more than a third of it clipped to white
FRAME_DARK_P99 = 60.0  # the whole frame this dark: no outline can be trusted, say "too dark"
FRAME_SATURATED_SHARE = 0.30  # a third of the whole frame clipped: say "too bright" first
SATURATED_LEVEL = 250  # a grey level at or above this has lost the print under it
GLARE_FLAT_PX = 7  # ...over a whole 7x7 window (0.7 mm): no print survives under it
GLARE_MIN_BLOB_SHARE = 0.002  # blobs smaller than 0.2 % of the card are specks, not glare
MAX_GLARE_SHARE = 0.01  # over 1 % of the card lost under glare can hide a NIK digit

# --- Auto-capture ---------------------------------------------------------------------------------
AUTO_CAPTURE_FRAMES = 5  # 1/3 s of passing frames at 15 fps: the hand has stopped moving
