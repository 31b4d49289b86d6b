"""Text from the officer's side shown to participants: the waiting card and verdict next steps."""

MESSAGES: dict[str, tuple[str, str]] = {
    "wait_title": ("Mohon tunggu sebentar", "Please wait a moment"),
    "wait_body": (
        "Petugas sedang melayani peserta lain dan akan segera kembali kepada Anda",
        "The officer is serving another participant and will be back with you soon",
    ),
    "wait_hand": (
        "Tekan tombol tangan jika Anda siap atau butuh bantuan",
        "Press the hand button if you are ready or need help",
    ),
    "next_approved": (
        "Klaim Anda disetujui. Dana akan ditransfer ke rekening bank Anda",
        "Your claim is approved. The money will be transferred to your bank account",
    ),
    "next_rejected_documents": (
        "Dokumen Anda belum dapat diterima. Silakan lengkapi dan datang kembali",
        "Your documents could not be accepted. Please complete them and come back",
    ),
    "next_incomplete": (
        "Klaim Anda belum lengkap. Petugas akan menghubungi Anda",
        "Your claim is not complete yet. An officer will contact you",
    ),
    "next_referred": (
        "Klaim Anda diteruskan untuk pemeriksaan lebih lanjut",
        "Your claim has been passed on for further review",
    ),
}
