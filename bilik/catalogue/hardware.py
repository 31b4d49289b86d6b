"""Text the hardware layer shows to participants (queue displays, the TV page)."""

MESSAGES: dict[str, tuple[str, str]] = {
    # 20-column pole display: both lines must fit 20 cells for short tickets/booths.
    "call": ("{ticket} ke Bilik {booth}", "{ticket} to Booth {booth}"),
    "call_short": ("{ticket} Bilik {booth}", "{ticket} Booth {booth}"),
    "idle": ("Silakan ambil nomor", "Please take a number"),
    "display_test": ("Uji layar antrean", "Queue display test"),
    "tv_title": ("Panggilan antrean", "Now serving"),
    "tv_ticket": ("Nomor", "Ticket"),
    "tv_booth": ("Bilik", "Booth"),
    "tv_offline": ("Menyambung ulang...", "Reconnecting..."),
}
