"""What the booth screen says to the participant: one instruction at a time, calm and honest."""

MESSAGES: dict[str, tuple[str, str]] = {
    # banners (the state in a few words)
    "banner_welcome": ("Selamat datang", "Welcome"),
    "banner_waiting": ("Menunggu petugas", "Waiting for an officer"),
    "banner_in_session": ("Terhubung dengan petugas", "Connected to an officer"),
    "banner_other": ("Petugas sedang melayani peserta lain", "The officer is with someone else"),
    "banner_scanning": ("Pindai dokumen", "Scan your documents"),
    "banner_verdict": ("Keputusan", "Decision"),
    "banner_goodbye": ("Terima kasih", "Thank you"),
    "banner_reconnecting": ("Menyambung ulang", "Reconnecting"),
    "banner_out_of_service": ("Bilik tidak dapat digunakan", "Booth out of service"),
    # instructions (one at a time)
    "welcome": (
        "Tunjukkan kode QR tiket Anda ke pemindai",
        "Show your ticket's QR code to the reader",
    ),
    "booking_hint": (
        "Sudah booking? Pindai kode booking Anda",
        "Booked online? Scan your booking code",
    ),
    "claimed": ("Tiket {number} diterima", "Ticket {number} accepted"),
    "waiting": (
        "Silakan duduk menghadap kamera. Petugas akan segera melayani Anda",
        "Please sit facing the camera. An officer will be with you soon",
    ),
    "parked": (
        "Petugas menunda sesi Anda sebentar. Tetap di sini, petugas akan kembali kepada Anda",
        "The officer has put your session on hold. Please stay here; the officer will come "
        "back to you",
    ),
    "expected_wait": (
        "Perkiraan waktu tunggu sekitar {minutes} menit",
        "Expected wait about {minutes} minutes",
    ),
    "expected_wait_soon": ("Petugas segera datang", "An officer is coming shortly"),
    "in_session": (
        "Anda terhubung dengan petugas. Silakan bicara",
        "You are connected to an officer. Please speak",
    ),
    "officer_busy": (
        "Petugas sedang melayani peserta lain - mohon tunggu",
        "The officer is serving another participant - please wait",
    ),
    "raise_hand": (
        "Tekan tombol jika Anda siap atau butuh bantuan",
        "Press the button when you are ready or need help",
    ),
    "hand_raised": (
        "Petugas sudah diberi tahu bahwa Anda menunggu",
        "The officer has been told you are waiting",
    ),
    "scan_document": ("Letakkan {document} di bawah kamera dokumen",
                      "Place your {document} under the document camera"),
    "rescan_reason": ("Mohon pindai ulang: {reason}", "Please scan again: {reason}"),
    "uploading": ("Dokumen sedang dikirim", "Sending the document"),
    "verdict": ("Keputusan: {outcome}", "Decision: {outcome}"),
    "reference": ("Nomor referensi: {reference}", "Reference: {reference}"),
    "printing": ("Tanda terima sedang dicetak", "Your receipt is printing"),
    "receipt_taken": (
        "Silakan ambil tanda terima Anda",
        "Please take your receipt",
    ),
    "receipt_failed": (
        "Tanda terima tidak dapat dicetak. Catat nomor referensi ini; petugas sudah diberi tahu",
        "The receipt could not be printed. Note this reference; the officer has been told",
    ),
    "goodbye": ("Terima kasih, sampai jumpa", "Thank you, goodbye"),
    "reconnecting": (
        "Koneksi terputus. Mohon tunggu, kami sedang menyambung ulang. Data Anda aman",
        "Connection lost. Please wait while we reconnect. Your progress is safe",
    ),
    "out_of_service": (
        "Bilik ini sedang tidak dapat digunakan. Mohon hubungi petugas",
        "This booth is out of service. Please ask a member of staff",
    ),
    "come_back": (
        "Apakah Anda masih di sana? Silakan kembali duduk menghadap kamera",
        "Are you still there? Please sit back facing the camera",
    ),
    "claim_refused": (
        "Tiket tidak dapat digunakan di bilik ini",
        "This ticket cannot be used at this booth",
    ),
    "checked_in": (
        "Check-in berhasil. Nomor Anda {number}. Tunggu sampai nomor Anda dipanggil di layar, "
        "lalu pindai kode booking Anda lagi di bilik yang disebut",
        "Checked in. Your number is {number}. Wait until it is called on the screen, "
        "then scan your booking code again at the booth named",
    ),
    "check_in_refused": (
        "Kode booking tidak dapat digunakan di bilik ini. Mohon hubungi petugas",
        "This booking code cannot be used at this booth. Please ask a member of staff",
    ),
    "qr_unreadable": (
        "Kode tidak terbaca, coba lagi",
        "The code could not be read, please try again",
    ),
    "next_steps": ("Langkah selanjutnya: {steps}", "Next steps: {steps}"),
    # document statuses, as the list beside the scan guidance shows them
    "doc_requested": ("{document}: belum dipindai", "{document}: not scanned yet"),
    "doc_uploading": ("{document}: dikirim...", "{document}: sending..."),
    "doc_uploaded": ("{document}: diterima", "{document}: received"),
    "doc_accepted": ("{document}: disetujui", "{document}: accepted"),
    "doc_rescan": ("{document}: pindai ulang", "{document}: scan again"),
    "doc_rejected": ("{document}: ditolak", "{document}: rejected"),
    # document kinds (the documents of an old-age savings claim)
    "kind_ktp": ("KTP", "ID card"),
    "kind_kk": ("Kartu Keluarga", "family card"),
    "kind_membership": ("kartu peserta", "membership card"),
    "kind_termination": ("surat keterangan berhenti kerja", "termination letter"),
    "kind_bank_book": ("buku tabungan", "bank book"),
    "kind_other": ("dokumen", "document"),
    # decisions, as the screen and the receipt name them (codes from signaling.cases)
    "outcome_approved": ("Disetujui", "Approved"),
    "outcome_rejected_documents": ("Dokumen ditolak", "Documents rejected"),
    "outcome_incomplete": ("Belum lengkap", "Incomplete"),
    "outcome_referred": ("Dirujuk ke petugas lain", "Referred to another officer"),
}
