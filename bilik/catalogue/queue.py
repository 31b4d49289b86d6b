"""Queue text shown to participants at the kiosk, the booth and the queue display."""

MESSAGES: dict[str, tuple[str, str]] = {
    "call": ("{number} silakan ke {booth}", "{number} please go to {booth}"),
    "recall": ("Panggilan ulang: {number} ke {booth}", "Calling again: {number} to {booth}"),
    # Spoken by the queue display (frontdesk/spoken_calls.py fills in the numbers as words).
    "announce": (
        "Nomor antrean {number}, silakan menuju bilik {booth}",
        "Queue number {number}, please go to booth {booth}",
    ),
    "announce_recall": (
        "Panggilan ulang. Nomor antrean {number}, silakan menuju bilik {booth}",
        "Calling again. Queue number {number}, please go to booth {booth}",
    ),
    "expected_wait": (
        "Perkiraan waktu tunggu sekitar {minutes} menit",
        "Expected wait about {minutes} minutes",
    ),
    "ahead": ("{count} orang sebelum Anda", "People ahead of you: {count}"),
    "moved": (
        "Mohon maaf, bilik Anda bermasalah. Nomor {number} akan dipanggil lagi lebih dulu",
        "Sorry, your booth has a problem. Number {number} will be called again first",
    ),
    "wrong_booth": ("Tiket Anda dipanggil ke {booth}", "Your ticket was called to {booth}"),
    "not_called": (
        "Nomor Anda belum dipanggil, mohon tunggu",
        "Your number has not been called yet, please wait",
    ),
    "ticket_unknown": ("Tiket tidak dikenali", "Ticket not recognised"),
    "qr_invalid": (
        "Kode QR ini bukan tiket cabang ini",
        "This QR code is not a ticket of this branch",
    ),
    "booking_unknown": (
        "Kode booking tidak ditemukan di cabang ini. Periksa kode dan cabang pilihan Anda",
        "Booking code not found at this branch. Check the code and the branch you chose",
    ),
    "booking_other_day": (
        "Booking ini untuk hari lain. Silakan datang pada tanggal booking Anda",
        "This booking is for another day. Please come on your booked date",
    ),
    "booking_used": ("Kode booking ini sudah dipakai", "This booking code was already used"),
    "booking_too_early": (
        "Terlalu awal untuk check-in, silakan kembali mendekati jadwal Anda",
        "Too early to check in, please come back closer to your slot",
    ),
    "booking_too_late": (
        "Waktu check-in sudah lewat, silakan ambil nomor antrean biasa",
        "The check-in time has passed, please take a walk-in ticket",
    ),
    "daily_limit": (
        "Kuota antrean hari ini sudah habis",
        "Today's queue numbers are used up",
    ),
    "at_risk": (
        "Jadwal {number} berisiko terlambat",
        "Appointment {number} is at risk of starting late",
    ),
    "unknown_service": (
        "Layanan ini tidak tersedia di cabang ini",
        "This service is not available at this branch",
    ),
}
