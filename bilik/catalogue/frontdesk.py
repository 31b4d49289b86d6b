"""Text of the front-of-house devices: the ticket kiosk and the queue display."""

MESSAGES: dict[str, tuple[str, str]] = {
    # Services offered at the kiosk (the server's service keys).
    "service_jht": ("Klaim Jaminan Hari Tua (JHT)", "Old-age savings claim (JHT)"),
    "service_jkk": ("Jaminan Kecelakaan Kerja (JKK)", "Work-accident benefit (JKK)"),
    "service_jkm": ("Jaminan Kematian (JKM)", "Death benefit (JKM)"),
    "service_jp": ("Jaminan Pensiun (JP)", "Pension (JP)"),
    "priority_none": ("Bukan prioritas", "No priority"),
    "priority_elderly": ("Prioritas: lansia", "Priority: elderly"),
    "priority_disabled": ("Prioritas: disabilitas", "Priority: disability"),
    "priority_pregnant": ("Prioritas: ibu hamil", "Priority: pregnant"),
    # The ticket: what the kiosk shows and prints.
    "your_number": ("Nomor antrean Anda: {number}", "Your queue number: {number}"),
    "wait_next": ("Anda berikutnya", "You are next"),
    "wait_estimate": (
        "Perkiraan, dapat berubah",
        "An estimate; it may change",
    ),
    "slot": ("Jadwal Anda: {time}", "Your appointment: {time}"),
    "print_failed": (
        "Tiket tidak dapat dicetak. Catat nomor Anda: {number}. Petugas akan membantu",
        "The ticket could not be printed. Note your number: {number}. Staff will help you",
    ),
    # Refusals and trouble.
    "refused": (
        "Permintaan tidak dapat diproses. Silakan hubungi petugas",
        "The request cannot be processed. Please ask a member of staff",
    ),
    "offline": (
        "Sistem antrean sedang tidak tersambung. Mohon tunggu sebentar lalu coba lagi",
        "The queue system is not reachable. Please wait a moment and try again",
    ),
    "ticket_not_here": (
        "Ini tiket antrean. Pindai tiket ini di bilik saat nomor Anda dipanggil",
        "This is a queue ticket. Scan it at the booth when your number is called",
    ),
    "code_unreadable": (
        "Kode tidak terbaca, silakan pindai lagi",
        "The code could not be read, please scan again",
    ),
    # The kiosk's touch screen page (frontdesk/kiosk_page/): one question at a time.
    "kiosk_title": ("Ambil nomor antrean", "Take a queue number"),
    "kiosk_choose_service": ("Sentuh layanan yang Anda perlukan", "Touch the service you need"),
    "kiosk_priority_question": (
        "Apakah Anda lansia, penyandang disabilitas, atau ibu hamil?",
        "Are you elderly, a person with a disability, or pregnant?",
    ),
    "kiosk_booking": ("Saya sudah booking", "I have a booking"),
    "kiosk_booking_prompt": (
        "Tunjukkan kode QR booking Anda ke pemindai, atau ketik kodenya",
        "Show your booking QR code to the scanner, or type its code",
    ),
    "kiosk_check_in": ("Check-in", "Check in"),
    "kiosk_back": ("Kembali", "Back"),
    "kiosk_done": ("Selesai", "Done"),
    "kiosk_delete": ("Hapus", "Delete"),
    "kiosk_help": ("Panggil petugas", "Call staff"),
    "kiosk_help_called": (
        "Petugas sudah dipanggil dan akan segera datang. Mohon tunggu di sini",
        "Staff have been called and are coming. Please wait here",
    ),
    "kiosk_working": ("Mohon tunggu sebentar...", "One moment please..."),
    "kiosk_take_ticket": ("Silakan ambil tiket Anda di bawah", "Please take your ticket below"),
    "kiosk_reconnecting": (
        "Layar ini sedang menyambung ulang. Mohon tunggu",
        "This screen is reconnecting. Please wait",
    ),
    "kiosk_printer_out": (
        "Kertas tiket habis: nomor Anda akan ditampilkan di layar ini. Petugas sudah diberi tahu",
        "The ticket printer is out of paper: your number will be shown on this screen. "
        "Staff have been told",
    ),
}
