"""The consent to the recording of the session, asked at the booth before the officer joins.

The words are versioned: each version's text stays here, under a key naming the version, so
that a stored consent (its ``wording``) always points to the exact words the participant
saw and heard. Changing the words means adding a version and moving
:data:`CURRENT_WORDING` to it, never editing a version's text (docs/recording.md).
"""

# The version shown now.
CURRENT_WORDING = "2026-12.1"
# Every version ever shown: version -> the catalogue key of its question.
WORDINGS: dict[str, str] = {"2026-12.1": "consent.ask_2026_12_1"}

MESSAGES: dict[str, tuple[str, str]] = {
    "ask_2026_12_1": (
        "Sesi ini akan direkam (gambar dan suara Anda serta petugas) sebagai bukti klaim "
        "Anda dan disimpan oleh kantor cabang. Apakah Anda setuju?",
        "This session will be recorded (your and the officer's picture and voice) as "
        "evidence of your claim and kept by the branch office. Do you agree?",
    ),
    "keys": (
        "Setuju: tekan tombol tangan atau 1. Tidak setuju: tekan 2",
        "Agree: press the hand button or 1. Do not agree: press 2",
    ),
    "banner": ("Persetujuan perekaman", "Consent to recording"),
    "accepted": ("Terima kasih. Sesi ini direkam", "Thank you. This session is recorded"),
    "refused": (
        "Anda tidak setuju sesi ini direkam. Petugas akan menjelaskan langkah berikutnya",
        "You did not agree to the recording. The officer will explain what happens next",
    ),
}
