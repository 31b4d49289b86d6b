"""The front of the branch: the ticket kiosk (touch screen and ticket printer) and the
queue display (TV page with spoken calls, pole and LED displays)."""
