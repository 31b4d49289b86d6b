"""The kiosk touch screen page: plain HTML, CSS and JS served by booth.kiosk_control."""
