"""Text printed on queue tickets and claim receipts, and told about the printer."""

MESSAGES: dict[str, tuple[str, str]] = {
    "ticket_title": ("Nomor antrean", "Queue number"),
    "service": ("Layanan", "Service"),
    "issued_at": ("Waktu", "Time"),
    "ticket_scan": ("Pindai kode ini di bilik", "Scan this code at the booth"),
    "ticket_wait": (
        "Mohon tunggu, nomor Anda akan dipanggil",
        "Please wait, your number will be called",
    ),
    "receipt_title": ("Tanda terima klaim", "Claim receipt"),
    "reference": ("Nomor referensi", "Reference"),
    "decision": ("Keputusan", "Decision"),
    "next_steps": ("Langkah selanjutnya", "Next steps"),
    "receipt_keep": ("Simpan tanda terima ini", "Keep this receipt"),
    "receipt_scan": ("Pindai kode ini untuk cek status", "Scan this code to check the status"),
    "selftest_title": ("Halaman uji printer", "Printer self-test page"),
    "selftest_charset": ("Huruf dan tanda baca", "Letters and punctuation"),
    "selftest_ok": (
        "Jika halaman ini terbaca, printer siap",
        "If this page is legible, the printer is ready",
    ),
    "receipt_failed": (
        "Tanda terima tidak dapat dicetak. Petugas akan membantu Anda.",
        "The receipt could not be printed. An officer will help you.",
    ),
    "ticket_failed": (
        "Tiket tidak dapat dicetak. Mohon hubungi petugas.",
        "The ticket could not be printed. Please ask an officer.",
    ),
    "paper_out": ("Kertas printer habis", "The printer is out of paper"),
    "cover_open": ("Tutup printer terbuka", "The printer cover is open"),
    "offline": ("Printer tidak siap", "The printer is not ready"),
}
