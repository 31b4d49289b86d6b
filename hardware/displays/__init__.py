"""Queue displays: the 2x20 pole display, the RS-485 LED counter display and the TV page."""
