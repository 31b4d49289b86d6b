"""The kiosk touch screen page: plain HTML, CSS and JS served by frontdesk.kiosk_control."""
