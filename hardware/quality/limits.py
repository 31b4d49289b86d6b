"""Every threshold of the document quality gate, in one place, with the reason for its value.

The gate judges the perspective-corrected document at the resolution its smallest print
needs (``PRINT_PX`` pixels for the smallest print of the kind, see :mod:`bilik.documents`):
an ID card's 1.5 mm print gives 6 px/mm, an A4 page's 2 mm print 4.5 px/mm. So a blurred A4
page is judged as blurred as its print is, never shrunk until it looks sharp, and the
thresholds below mean the same for every kind and every camera. They were set from what a
reader needs and checked against the generated corpus in ``tests/data/quality`` and a fresh
corpus drawn with another seed in the tests; see docs/quality.md.
"""

from __future__ import annotations

# --- Resolution ------------------------------------------------------------------------------
PRINT_PX = 8.0  # the smallest print must be at least 8 px tall in the frame (1.5 mm at
# 135 ppi on an ID card, 2 mm at 100 ppi on a page): the least that stays legible to a
# person, and to Tesseract once OCR has enlarged it (OCR_PX_PER_PRINT)
JUDGE_PX_PER_PRINT = PRINT_PX  # the straightened document is judged at exactly the least
# resolution accepted: judging finer would up-sample (and blur) a frame that is good enough
CAPTURE_PX_PER_MM_MAX = 12.0  # the captured document is kept at the camera's own resolution
# up to 12 px/mm (300 ppi): more only makes the upload bigger
OCR_PX_PER_PRINT = 24.0  # Tesseract reads best when capitals are 20-30 px tall
FRAME_FILL = 0.9  # a participant can lay a document over at most 90 % of the frame's height
# and width: the camera "reaches" a kind when the kind's print is PRINT_PX tall at that fill
OUTLINE_WIDTH_PX = 640  # outlines are found on a copy this wide, whatever the frame size
EXPOSURE_SAMPLE_WIDTH_PX = 320  # the whole-frame exposure is read on a sample this wide
WARP_INSET = 0.03  # share of the warped document trimmed on each side before judging, so
# that the desk showing past rounded corners or a slightly loose outline is never judged
PRE_SHRINK_ABOVE = 1.5  # a document resolved more than 1.5x finer than judged is first
# shrunk by area averaging (no aliasing) before it is straightened

# --- Finding the document ------------------------------------------------------------------------
MIN_DOC_AREA_SHARE = 0.003  # smaller than 0.3 % of the frame it is no document we can use
# (an ID card 14 % of an 8 MP frame wide is still one: told to come closer, not "no document")
BORDER_TOUCH_PX = 3  # outline points this close to the frame edge (at outline scale) mean
# the document runs off the picture
MIN_MARGIN_SHARE = 0.01  # corners closer than 1 % of the frame size to its edge: too tight
ASPECT_TOLERANCE = 0.08  # the outline's side ratio may differ this much (relative) from
# the kind's: perspective changes it a little; an A4 page (1.41) is not an ID card (1.59)
MAX_PLAUSIBLE_KEYSTONE = 0.45  # sides differing more than this are not a card under a
# document camera but a chance shape in the desk's texture
MAX_STRETCH_GAIN = 2.0  # contrast stretch before edge search never multiplies by more
CANNY_LOW, CANNY_HIGH = 30, 90  # edge thresholds on the contrast-stretched, smoothed grey
CHROMA_GAIN = 3.0  # colour-difference channels are amplified this much before their edge
# search: a card whose grey matches the desk still differs from it in colour
SIDE_ANGLE_DEG = 20.0  # outline segments within this of a side's direction belong to it
SIDE_MIN_SHARE = 0.05  # segments shorter than this share of the shape's hull perimeter are
# noise (a finger's rounded tip, the desk's grain), not a side of the document

# --- Something over the document ---------------------------------------------------------------
COVER_MIN_MM2 = 40.0  # an object crossing the outline with more than 40 mm2 outside it
# (a fingertip's worth) is something lying over the document (a finger, a pen)
COVER_COLOUR_DISTANCE = 28.0  # Lab distance within which a pixel of the document is taken
# for the object seen outside it
COVER_DEPTH_MM = {"card": 4.0, "paper": 12.0}  # reaching further in than the blank border
# of the document (an ID card's is ~3 mm, a letter's margin 20 mm): it is over the print

# --- Verdict thresholds ---------------------------------------------------------------------------
MAX_TILT_DEG = 12.0  # turned further than this in the frame, the card is not in the holder
# squarely and its far side loses resolution; the participant can easily straighten it
MAX_KEYSTONE = 0.12  # opposite sides differing by more than 12 %: the card is lifted or
# leaning towards the camera, so one edge is blurred by depth of field and print shrinks
MIN_SHARPNESS = 0.55  # steepest edges (99.5th percentile of the gradient, in the blurrier
# direction) must climb at least 40 % of the document's contrast per pixel at the judged
# resolution; crisp print does 70-95 %, a blur of a quarter of the print's height or a shake
# of 1.2 print heights under 35 %
DARK_P95 = 95.0  # the brightest part of the document (paper, white print) below this
BRIGHT_P50 = 245.0  # half a card washed to near white, or more than a third of it
BRIGHT_SATURATED_SHARE = 0.35  # clipped: a card is printed in colour edge to edge, so its
# colours and fine print are gone. Paper is white by nature: clipped paper hides nothing,
PRINT_FADED_CONTRAST = 60.0  # so a page is over-exposed only when its print has faded with
# it: even its most contrasted print (99.5th percentile of the local contrast) is less than
# this below the paper. A white page a little over-exposed, its print intact, passes
FRAME_DARK_P99 = 60.0  # the whole frame this dark: no outline can be trusted, say "too dark"
FRAME_SATURATED_SHARE = 0.85  # nearly all the frame clipped: no document can be found.
# (A white page may fill two thirds of a 1080p frame: a lower share would refuse it.)
SATURATED_LEVEL = 250  # a grey level at or above this has lost the print under it
GLARE_FLAT_MM = 0.6  # clipped over a whole window this wide: no print survives under it
GLARE_MIN_RADIUS_PRINT = 2.2  # a highlight is a candidate when the largest disc inside it
# is at least 2.2 x the smallest print's height across: QR modules (even 4 x 4 of them),
# white print and a QR code's quiet zone are narrower; a highlight that wide hides a character
GLOW_ABOVE_PAPER = 20.0  # around a highlight, what is this much brighter than the paper
# near it is its glow, where print washes out too
GLARE_RING_PRINT = 1.5  # print is looked for in a ring 1.5 print heights wide around it:
# print running into the highlight, cut off by it
GLARE_RING_DENSITY = 0.3  # print in that ring at least 0.3x as dense as on the document
# on average: the highlight sits on the print and wiped some out. Less: it is on a margin
# or a blank field and hides nothing
PRINT_CONTRAST = 50.0  # a pixel this much darker than the brightest within one print
# height is print...
PRINT_BELOW_PAPER = 30.0  # ...when it is also this much darker than the document's median
MAX_GLARE_SHARE = 0.0  # any highlight that wiped print is refused: it can hide a NIK digit

# --- Auto-capture ---------------------------------------------------------------------------------
AUTO_CAPTURE_FRAMES = 5  # 1/3 s of passing frames at 15 fps: the hand has stopped moving
